"""Fine-tuning the embedding model on a coder's own codes, on the CPU.

The bundled model places utterances by topic, and a codebook often cuts across topics: a
reflection and a question about drinking sit close together. A few passes over the coder's
examples, with a classification layer on top that is then thrown away, move the network
towards the distinctions the codebook draws (AnnoMI therapist behaviour, held out: kappa 0.680
with the bundled model, see ``docs/benchmarks.md``). On a small interview study a gentler
objective does better: the contrastive loss pulls utterances that share a code together and
pushes the rest apart, in the spirit of SetFit, without a layer to fit (the reference study's
795 utterances; the setting ``fine_tune_loss``), and the two summed ("combined") did best
there of all three. The result is saved as an ordinary sentence-transformers folder, so the
embedding cache, the classifier, its reasons and every backend use it as they use any
configured model.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from . import progress
from .embed import _offline, resolve_model
from .errors import AutocodeError
from .store import DEFAULT_SETTINGS

# the defaults of autocode.toml's fine_tune_passes, _learning_rate and _precision, kept in one place
EPOCHS = DEFAULT_SETTINGS["classifier"]["fine_tune_passes"]
LEARNING_RATE = DEFAULT_SETTINGS["classifier"]["fine_tune_learning_rate"]
PRECISION = DEFAULT_SETTINGS["classifier"]["fine_tune_precision"]
# "auto": bfloat16 where the processor does it natively (1.9 times the speed, the same agreement:
# docs/benchmarks.md, "Tuning in bfloat16 arithmetic"), else float32 (emulated bfloat16 would be slower)
PRECISIONS = ("auto", "bfloat16", "float32")
MAX_LEARNING_RATE = 1e-2
BATCH = 16
MAX_TOKENS = 128  # while training only: longer utterances are rare and cost quadratically
LOSSES = ("cross-entropy", "contrastive", "combined")
TEMPERATURE = 0.1  # the contrastive loss's: the usual value, fixed, not tuned on any benchmark


def fine_tune(texts: list[str], labels: list, out: Path, model: str | None = None,
              epochs: int = EPOCHS, seed: int = 0, loss: str = LOSSES[0],
              learning_rate: float = LEARNING_RATE, precision: str = PRECISION) -> Path:
    """Tune ``model`` (default: the bundled one) to tell ``labels`` apart; save it to ``out``.

    A text's label may be one code or a list of codes: a text with several is taught all of
    them, as the classifier learns every code of an utterance. ``loss`` is one of
    :data:`LOSSES`: cross-entropy weights classes by their rarity, as the classifier does, so a
    rare code still moves the network; the contrastive loss pulls texts sharing a code together;
    "combined" is the two summed. A higher ``learning_rate`` moves the network further in
    each pass: many rare codes need it, a few common ones are better learnt slowly.
    ``precision`` is one of :data:`PRECISIONS`: the network's arithmetic while it learns (its
    weights are kept, and saved, in float32 either way). The folder appears whole or not at all.
    """
    import torch

    if len(texts) != len(labels):
        raise ValueError(f"labels: expected one label per text ({len(texts)}), got {len(labels)}")
    if epochs < 1:
        raise AutocodeError(f"fine-tuning needs at least one pass over the examples, not {epochs}",
                            "set 'fine_tune_passes' under [classifier] in autocode.toml to 1 or more")
    check_loss(loss)
    check_learning_rate(learning_rate)
    half = arithmetic(precision) == "bfloat16"
    y, classes = _targets(labels)
    if len(classes) < 2:
        raise AutocodeError("fine-tuning needs at least two different codes", "code more utterances first")
    torch.manual_seed(seed)
    net = _fresh(model)
    saved_max, net.max_seq_length = net.max_seq_length, min(net.max_seq_length or MAX_TOKENS, MAX_TOKENS)
    objective, params = _objective(loss, net, y)
    batches = _batches([len(t) for t in texts], epochs, seed)
    step = _optimiser(list(net.parameters()) + params, len(batches), learning_rate)
    prepare = getattr(net, "preprocess", None) or net.tokenize  # renamed in sentence-transformers 6
    net.train()
    with progress.bar("Fine-tuning the embedding model on your codes", len(batches)) as advance:
        for b in batches:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
                embeddings = net(prepare([texts[i] for i in b]))["sentence_embedding"]
            step(objective(embeddings.float(), b))   # the losses in float32: small differences count
            advance(1)
    net.eval()
    net.max_seq_length = saved_max
    return _save(net, Path(out))


def check_loss(loss: str, also: tuple[str, ...] = ()) -> None:
    """Refuse a loss that is neither one of :data:`LOSSES` nor ``also`` (what the caller adds)."""
    valid = (*LOSSES, *also)
    if loss not in valid:
        raise AutocodeError(f"fine-tuning has no loss called {loss!r}",
                            f"set 'fine_tune_loss' under [classifier] in autocode.toml to "
                            f"{', '.join(map(repr, valid[:-1]))} or {valid[-1]!r}")


def check_learning_rate(rate: float) -> None:
    """Refuse a rate that would not move the network, or would wreck what it already knows
    (above 1e-2, a hundred times the fastest that paid on any benchmark)."""
    import math

    if not (math.isfinite(rate) and 0 < rate <= MAX_LEARNING_RATE):
        raise AutocodeError(f"fine-tuning needs a learning rate above 0 and at most {MAX_LEARNING_RATE:g}, not {rate:g}",
                            f"set 'fine_tune_learning_rate' under [classifier] in autocode.toml to {LEARNING_RATE:g} "
                            "(the default) or, with many rare codes, 2e-4")


def arithmetic(precision: str) -> str:
    """The arithmetic ``precision`` stands for on this machine: "auto" is bfloat16 where the
    processor has instructions for it (AVX-512 BF16 or AMX), else float32."""
    check_precision(precision)
    if precision != "auto":
        return precision
    return "bfloat16" if _native_bfloat16() else "float32"


def _native_bfloat16() -> bool:
    import torch

    cpu = torch.cpu
    return any(getattr(cpu, f, lambda: False)() for f in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise AutocodeError(f"fine-tuning has no precision called {precision!r}",
                            f"set 'fine_tune_precision' under [classifier] in autocode.toml to 'auto' (the default: "
                            "bfloat16 where this processor is fast at it, else float32), 'bfloat16' or 'float32'")


def _targets(labels: list) -> tuple[np.ndarray, list[str]]:
    """One row per text: its codes' share of it (1 for a lone code, 1/2 each for two)."""
    sets = [[l] if isinstance(l, str) else sorted(set(l)) for l in labels]
    classes = sorted({c for s in sets for c in s})
    y = np.zeros((len(sets), len(classes)), dtype=np.float32)
    for i, s in enumerate(sets):
        y[i, [classes.index(c) for c in s]] = 1.0 / max(len(s), 1)
    return y, classes


def _objective(loss: str, net, y: np.ndarray):
    """objective(embeddings, rows), and the parameters it adds to the network's (a
    classification layer, for cross-entropy, thrown away afterwards)."""
    import torch

    codes = torch.tensor(y > 0)
    if loss == "contrastive":
        return (lambda emb, rows: _contrastive(emb, codes[rows])), []
    dimension = getattr(net, "get_embedding_dimension", None) or net.get_sentence_embedding_dimension
    head = torch.nn.Linear(dimension(), y.shape[1])
    weight = torch.tensor(len(y) / (y.shape[1] * y.sum(0)), dtype=torch.float32)
    shares = torch.tensor(y, dtype=torch.float32)
    cross_entropy = lambda emb, rows: _loss(head(emb), shares[rows], weight)  # noqa: E731
    if loss == "combined":   # the two summed, unweighted: neither is favoured
        return (lambda emb, rows: cross_entropy(emb, rows) + _contrastive(emb, codes[rows])), list(head.parameters())
    return cross_entropy, list(head.parameters())


def _loss(logits, y, weight):
    """Class-weighted cross-entropy over shares of codes, normalised by the weights as torch's
    is for one code per text (so a lone code's loss is exactly torch's)."""
    import torch

    w = y * weight
    return -(w * torch.log_softmax(logits, dim=1)).sum() / w.sum()


def _contrastive(embeddings, codes):
    """Supervised contrastive loss (Khosla et al., 2020): each text's log-share of its
    similarity to the batch's other texts that goes to the texts sharing a code with it,
    averaged. Partners count by the share of codes they have in common (Jaccard), so a text
    with two codes joins both groups. A text with no partner in its batch is only pushed away."""
    import torch

    z = torch.nn.functional.normalize(embeddings, dim=1)
    itself = torch.eye(len(z), dtype=torch.bool)
    similarity = (z @ z.T / TEMPERATURE).masked_fill(itself, float("-inf"))
    log_share = (similarity - torch.logsumexp(similarity, dim=1, keepdim=True)).masked_fill(itself, 0)
    c = codes.float()
    shared = c @ c.T
    partners = (shared / (c.sum(1, keepdim=True) + c.sum(1) - shared)).masked_fill(itself, 0)
    has = partners.sum(1) > 0
    if not has.any():
        return (embeddings * 0).sum()   # nothing to learn from this batch, and nothing broken
    return -((partners * log_share).sum(1)[has] / partners.sum(1)[has]).mean()


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


def _optimiser(params, steps: int, learning_rate: float = LEARNING_RATE):
    """AdamW with a linear warm-up over the first tenth of the steps, then a linear decay.
    Fused: one pass over all the weights per step rather than one per tensor, the same
    arithmetic (the tests check it), about a fifth less tuning time on two cores
    (bench/tuning_speed.py)."""
    import torch

    opt = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.01, fused=True)
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
