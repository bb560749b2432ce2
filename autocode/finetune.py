"""Fine-tuning the embedding model on a coder's own codes, on the CPU.

The bundled model places utterances by topic, and a codebook often cuts across topics: a
reflection and a question about drinking sit close together. A few passes over the coder's
examples, with a classification layer on top that is then thrown away, move the network
towards the distinctions the codebook draws (AnnoMI therapist behaviour, held out: kappa 0.680
with the bundled model, see ``docs/benchmarks.md``). The result is saved as an ordinary
sentence-transformers folder, so the embedding cache, the classifier, its reasons and every
backend use it as they use any configured model.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import progress
from .embed import _offline, resolve_model
from .errors import AutocodeError

EPOCHS = 2
LEARNING_RATE = 5e-5
BATCH = 16
MAX_TOKENS = 128  # while training only: longer utterances are rare and cost quadratically


def fine_tune(texts: list[str], labels: list, out: Path, model: str | None = None,
              epochs: int = EPOCHS, seed: int = 0) -> Path:
    """Tune ``model`` (default: the bundled one) to tell ``labels`` apart; save it to ``out``.

    A text's label may be one code or a list of codes: a text with several is taught all of
    them, each equally likely, as the classifier learns every code of an utterance. Classes are
    weighted by their rarity, as the classifier's are, so a rare code still moves the network.
    The folder appears whole or not at all.
    """
    import torch

    if len(texts) != len(labels):
        raise ValueError(f"labels: expected one label per text ({len(texts)}), got {len(labels)}")
    if epochs < 1:
        raise AutocodeError(f"fine-tuning needs at least one pass over the examples, not {epochs}",
                            "set 'fine_tune_passes' under [classifier] in autocode.toml to 1 or more")
    y, classes = _targets(labels)
    if len(classes) < 2:
        raise AutocodeError("fine-tuning needs at least two different codes", "code more utterances first")
    torch.manual_seed(seed)
    net = _fresh(model)
    saved_max, net.max_seq_length = net.max_seq_length, min(net.max_seq_length or MAX_TOKENS, MAX_TOKENS)
    dimension = getattr(net, "get_embedding_dimension", None) or net.get_sentence_embedding_dimension
    head = torch.nn.Linear(dimension(), len(classes))
    weight = torch.tensor(len(y) / (len(classes) * y.sum(0)), dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32)
    batches = _batches([len(t) for t in texts], epochs, seed)
    step = _optimiser(list(net.parameters()) + list(head.parameters()), len(batches))
    prepare = getattr(net, "preprocess", None) or net.tokenize  # renamed in sentence-transformers 6
    net.train()
    with progress.bar("Fine-tuning the embedding model on your codes", len(batches)) as advance:
        for b in batches:
            emb = net(prepare([texts[i] for i in b]))["sentence_embedding"]
            step(_loss(head(emb), y[b], weight))
            advance(1)
    net.eval()
    net.max_seq_length = saved_max
    return _save(net, Path(out))


def _targets(labels: list) -> tuple[np.ndarray, list[str]]:
    """One row per text: its codes' share of it (1 for a lone code, 1/2 each for two)."""
    sets = [[l] if isinstance(l, str) else sorted(set(l)) for l in labels]
    classes = sorted({c for s in sets for c in s})
    y = np.zeros((len(sets), len(classes)), dtype=np.float32)
    for i, s in enumerate(sets):
        y[i, [classes.index(c) for c in s]] = 1.0 / max(len(s), 1)
    return y, classes


def _loss(logits, y, weight):
    """Class-weighted cross-entropy over shares of codes, normalised by the weights as torch's
    is for one code per text (so a lone code's loss is exactly torch's)."""
    import torch

    w = y * weight
    return -(w * torch.log_softmax(logits, dim=1)).sum() / w.sum()


def _fresh(model: str | None):
    """A new copy of the model to change: the one loaded for embedding stays as it was."""
    _offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(model), device="cpu")


def _batches(lengths: list[int], epochs: int, seed: int) -> list[np.ndarray]:
    """Shuffled batches of texts of similar length (less padding: about 1.5x faster), new each epoch."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(len(lengths))
        for c in range(0, len(order), 50 * BATCH):
            chunk = sorted(order[c:c + 50 * BATCH], key=lambda i: lengths[i])
            out += [np.asarray(chunk[k:k + BATCH]) for k in range(0, len(chunk), BATCH)]
    return [out[i] for i in rng.permutation(len(out))]


def _optimiser(params, steps: int):
    """AdamW with a linear warm-up over the first tenth of the steps, then a linear decay."""
    import torch

    opt = torch.optim.AdamW(params, lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1.0, 0.1 * steps)) * max(0.0, (steps - s) / steps))

    def step(loss):
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return step


def _save(net, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        net.save(str(tmp))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
