"""Embedding and suggestion on a Dask cluster started by the test give the single-machine results."""
from __future__ import annotations

import numpy as np
import pytest

from autocode import distributed, embed
from autocode.corpus import add_files, utterances
from autocode.learn import suggest, train

from conftest import DATA

pytest.importorskip("dask.distributed")


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(distributed, "PART_TEXTS", 40)  # several tasks even on one transcript


def test_vectors_from_the_cluster_equal_those_made_here(demo_project, small_parts):
    """D08 is new to the project: its utterances are embedded on the cluster and stored in the
    project's cache, equal to the vectors made on this machine."""
    with distributed.using("local", processes=False, workers=1) as client:
        assert distributed.active() is client
        report = add_files(demo_project, [DATA / "transcripts" / "D08.txt"], embed=True)
    assert distributed.active() is None and report.embedded > 40
    texts = [u.text for u in utterances(demo_project.conn, ["D08"])]
    with demo_project.transaction() as conn:
        stored = embed.cached_encode(conn, texts)
    np.testing.assert_allclose(stored, embed.encode(texts), atol=1e-5)


def test_suggestions_from_the_cluster_equal_those_made_here(demo_project, small_parts):
    train(demo_project, "alice", evaluate=False)
    here = suggest(demo_project, ["D07"], include_coded=True)
    with distributed.using("local", processes=False, workers=1):
        there = suggest(demo_project, ["D07"], include_coded=True)
    assert len(here) > 40 and there == here
    stored = demo_project.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'machine'").fetchone()[0]
    assert stored == len(here)


def test_an_unreachable_scheduler_is_a_plain_error(monkeypatch):
    from autocode.errors import AutocodeError

    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", "2s")  # the message, not the patience, is tested

    with pytest.raises(AutocodeError, match="could not reach the Dask scheduler"):
        with distributed.using("tcp://127.0.0.1:9", processes=False):
            pass
