"""Shared fixtures. The bundled embedding model is real and local, so tests use it."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from autocode import Project  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
SHARED = REPO.parent / "shared"


@pytest.fixture
def project(tmp_path) -> Project:
    """An empty project with the demo codebook."""
    from autocode.review import import_codebook

    p = Project.create(tmp_path / "proj")
    import_codebook(p, DATA / "codebook.yaml", "tester")
    yield p
    p.close()


@pytest.fixture(scope="session")
def _demo_project_template(tmp_path_factory) -> Path:
    """D01-D07 added and alice's and bob's codings imported; built once per test run."""
    from autocode.codings import import_codings
    from autocode.corpus import add_files, utterances
    from autocode.embed import cached_encode
    from autocode.review import import_codebook

    root = tmp_path_factory.mktemp("demo") / "proj"
    p = Project.create(root)
    import_codebook(p, DATA / "codebook.yaml", "tester")
    add_files(p, sorted((DATA / "transcripts").glob("D0[1-7].txt")))
    for f in sorted((DATA / "codings").glob("*.csv")):
        import_codings(p, f)
    with p.transaction() as conn:  # fill the embedding cache once, for every copy
        cached_encode(conn, [u.text for u in utterances(conn, participants_only=False)])
    p.close()
    return root


def _private_copy(template: Path, root: Path):
    shutil.copytree(template, root)
    p = Project(root)
    yield p
    p.close()


@pytest.fixture
def demo_project(_demo_project_template, tmp_path) -> Project:
    """A private copy of the demo project, safe to change."""
    yield from _private_copy(_demo_project_template, tmp_path / "demo")


@pytest.fixture
def review_project(_review_template, tmp_path) -> Project:
    """A private copy of the review project (candidates, a classifier learnt from alice, D08 suggested)."""
    yield from _private_copy(_review_template, tmp_path / "review")


@pytest.fixture(scope="session")
def _trained_template(_demo_project_template, tmp_path_factory) -> tuple[Path, dict]:
    """The demo project with alice's classifier trained and cross-validated, once per test run,
    and the training's metrics. Copy it before changing it."""
    from autocode.learn import train

    root = tmp_path_factory.mktemp("trained") / "proj"
    shutil.copytree(_demo_project_template, root)
    p = Project(root)
    metrics = train(p, "alice")
    p.close()
    return root, metrics


def query(root, sql, *args) -> list[tuple]:
    """Rows of a query on the project at ``root``, through a connection of its own (as another
    process, such as the CLI or the review server, would see them)."""
    p = Project(root)
    try:
        return [tuple(r) for r in p.conn.execute(sql, args)]
    finally:
        p.close()


def snapshot(p: Project) -> dict:
    """Every table's rows, to show a failed command changed nothing."""
    tables = [r[0] for r in p.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {t: p.conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}


@pytest.fixture(scope="session")
def _review_template(_demo_project_template, tmp_path_factory) -> Path:
    """The demo project with candidates, a trained classifier, and suggestions for the new D08."""
    from autocode.cluster import propose
    from autocode.corpus import add_files
    from autocode.learn import suggest, train

    root = tmp_path_factory.mktemp("review") / "proj"
    shutil.copytree(_demo_project_template, root)
    p = Project(root)
    propose(p)
    train(p, "alice", evaluate=False)
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    suggest(p, ["D08"])
    p.close()
    return root
