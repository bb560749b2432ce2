"""Embedding: the cache embeds each text once per model and backend, and batching by length
changes no vector."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from autocode import embed
from autocode.corpus import add_files, utterances
from autocode.errors import AutocodeError

from conftest import DATA

TRANSCRIPTS = DATA / "transcripts"


@pytest.fixture
def encoded(monkeypatch) -> list[str]:
    """Every text handed to the real encoder, in order."""
    seen: list[str] = []
    real = embed.TorchEncoder.encode

    def counting(self, texts, batch_size):
        seen.extend(texts)
        return real(self, texts, batch_size)

    monkeypatch.setattr(embed.TorchEncoder, "encode", counting)
    return seen


def test_adding_one_transcript_embeds_only_its_utterances(demo_project, encoded):
    with demo_project.transaction() as conn:
        before = {u.text for u in utterances(conn, participants_only=False)}
    report = add_files(demo_project, [TRANSCRIPTS / "D08.txt"], embed=True)
    new = {u.text for u in utterances(demo_project.conn, ["D08"])} - before
    assert report.added == ["D08"] and len(new) > 50
    assert sorted(encoded) == sorted(new)          # each new text once, nothing already cached
    assert report.embedded == len(new)
    encoded.clear()
    again = add_files(demo_project, [TRANSCRIPTS / f"D0{i}.txt" for i in range(1, 9)], embed=True)
    assert again.unchanged and not again.added and encoded == [] and again.embedded == 0


def test_embedding_on_add_fills_the_cache_propose_reads(project, encoded):
    add_files(project, [TRANSCRIPTS / "D01.txt"], embed=True)
    texts = [u.text for u in utterances(project.conn)]
    n = len(encoded)
    with project.transaction() as conn:
        X = embed.cached_encode(conn, texts)
    assert len(encoded) == n and X.shape == (len(texts), 384)


def test_batching_by_length_gives_the_vectors_of_one_plain_call(demo_project):
    texts = [u.text for u in utterances(demo_project.conn, ["D01"])][:150]
    plain = embed.load_sentence_transformer(None).encode(texts, batch_size=16, normalize_embeddings=True)
    ours = embed.encode(texts, batch_size=16)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, plain, atol=1e-5)
    with demo_project.transaction() as conn:      # the conftest cache was filled in one plain call
        np.testing.assert_allclose(embed.cached_encode(conn, texts), ours, atol=1e-5)


def test_each_backend_has_its_own_cache_key():
    keys = {embed.model_key(None, b) for b in embed.BACKENDS}
    assert len(keys) == len(embed.BACKENDS)
    assert embed.model_key(None) == embed.model_key("all-MiniLM-L6-v2", "torch") == "all-MiniLM-L6-v2"


def test_backend_comes_from_the_project_settings(project):
    assert embed.project_backend(project.conn) == "torch"
    settings = project.root / "autocode.toml"
    settings.write_text(settings.read_text().replace('backend = "torch"', 'backend = "static"'))
    assert embed.project_backend(project.conn) == "static"
    settings.write_text(settings.read_text().replace('backend = "static"', 'backend = "gpu"'))
    with pytest.raises(AutocodeError, match="unknown embedding backend 'gpu'"):
        embed.project_backend(project.conn)


def test_a_missing_fast_backend_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "model2vec", None)  # as if not installed
    embed.load_encoder.cache_clear()
    with pytest.raises(AutocodeError) as err:
        embed.load_encoder(None, "static")
    assert 'pip install "autocode[fast]"' in err.value.message
