"""What the classifier reads for each utterance: its embedding, the embeddings of the
utterances around it, its words, and the codebook's own words as examples.

Kept apart from :mod:`autocode.learn` (which trains and suggests) because every way of
reading, whether one model or several side by side, general or tuned, goes through these
few types, and the benchmarks build their variants from them.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import numpy as np

from . import codebook as cb
from .corpus import Utterance, utterances
from .embed import cached_encode, encode as plain_encode


@dataclass
class Inputs:
    """What the classifier reads for each utterance: its text, its embedding, and as context,
    side by side, the embeddings of the utterance before it and the one after it (whoever said
    them), of the interviewer's last utterance before it, and the mean embedding of the
    speaker's run of utterances it belongs to (see :class:`Surroundings`). Each was kept for
    raising cross-validated kappa on training transcripts (``bench/features.py``). ``answers``
    numbers each utterance's answer (its speaker's run), which a prediction leans on
    (``ThemeClassifier.answer_weight``); None reads each utterance alone."""
    texts: np.ndarray
    X: np.ndarray
    context: np.ndarray
    answers: np.ndarray | None = None
    widths: tuple[int, ...] | None = None   # each model's share of X, when several are read side by side

    def rows(self, idx) -> "Inputs":
        return Inputs(self.texts[idx], self.X[idx], self.context[idx],
                      None if self.answers is None else self.answers[idx], self.widths)

    def plus(self, other: "Inputs") -> "Inputs":
        """Rows for learning from (answers play no part in learning)."""
        return Inputs(np.concatenate([self.texts, other.texts]), np.vstack([self.X, other.X]),
                      np.vstack([self.context, other.context]), widths=self.widths)


def side_by_side(parts: list[Inputs]) -> Inputs:
    """The inputs of several embedding models as one: each embedding, and each context part,
    is the models' vectors next to each other (so a model's context parts stay aligned)."""
    X = np.hstack([p.X for p in parts])
    k = parts[0].context.shape[1] // max(parts[0].X.shape[1], 1)  # how many context parts
    if len(parts) == 1:
        return parts[0]
    widths = tuple(p.X.shape[1] for p in parts)
    if not k:
        return Inputs(parts[0].texts, X, parts[0].context, parts[0].answers, widths)
    each = [np.hsplit(p.context, k) for p in parts]
    return Inputs(parts[0].texts, X, np.hstack([block for group in zip(*each) for block in group]), parts[0].answers,
                  widths)


def inputs(conn, utts: list[Utterance], model: str | list | None = None, batch_size: int = 64,
           cache: bool = True) -> Inputs:
    """Texts and embeddings (from the project's cache unless ``cache`` is False, as for a
    model that lives only for one cross-validation fold) of utterances and their surroundings.
    ``model`` may list several models, read side by side (:func:`side_by_side`)."""
    if isinstance(model, (list, tuple)):
        return side_by_side([inputs(conn, utts, m, batch_size, cache) for m in model])
    texts = [u.text for u in utts]
    encode = _encoder(conn, model, batch_size, cache)
    X = encode(texts)
    around = Surroundings.of(conn, utts)
    return Inputs(np.asarray(texts, dtype=object), X, context_vectors(around, encode, X.shape[1]),
                  np.asarray(around.answers, dtype=np.int64))


def _encoder(conn, model: str | None, batch_size: int, cache: bool = True):
    if cache:
        return lambda t: cached_encode(conn, t, model, batch_size)
    return lambda t: _encode_once(t, model, batch_size)


def _encode_once(texts: list[str], model: str | None, batch_size: int) -> np.ndarray:
    """Embeddings without the cache, each distinct text computed once (surroundings repeat)."""
    distinct = sorted(set(texts))
    vectors = plain_encode(distinct, model, batch_size)
    row = {t: i for i, t in enumerate(distinct)}
    return vectors[[row[t] for t in texts]] if texts else np.zeros((0, 0), np.float32)


@dataclass
class Definitions:
    """The codebook's own words as examples of its codes: each example's text, embedding and code."""
    texts: list[str]
    X: np.ndarray
    codes: list[str]
    widths: tuple[int, ...] | None = None   # as :attr:`Inputs.widths`

    def reading(self, keep: list[int]) -> "Definitions":
        """The embeddings of some of the models read side by side (see :func:`reading`)."""
        return Definitions(self.texts, self.X[:, _columns(self.widths, keep, 1)], self.codes, _kept(self.widths, keep))

    def for_codes(self, used: set[str], parts: int) -> tuple[Inputs, list[list[str]]]:
        """The examples of the codes a model learns from, read as it reads utterances: each is its
        own context in each of the ``parts`` context parts (a definition has no neighbours)."""
        keep = [i for i, c in enumerate(self.codes) if c in used]
        X = self.X[keep]
        texts = np.asarray([self.texts[i] for i in keep], dtype=object)
        return Inputs(texts, X, np.tile(X, (1, parts)), widths=self.widths), [[self.codes[i]] for i in keep]


def definitions(conn, model: str | list | None = None, batch_size: int = 64, cache: bool = True) -> Definitions | None:
    """Each code lends its name as an example, and a code with a definition its definition and
    the two together too; a model learns from those of the codes its coder used
    (:func:`autocode.learn.fit_classifier`). They tell it what a code means before many
    utterances do: on the reference study's training transcripts (5-fold document CV, ``bench/definitions.py``) theme
    kappa rose from 0.41 to 0.47 with a quarter of the labels and from 0.58 to 0.60 with all of
    them; the names alone raised macro-F1 on NHS patient feedback's training comments (3-fold
    CV) from 0.478 to 0.489 and left AnnoMI's terse names ("question", "change") within 0.002.
    None when the codebook has no codes."""
    texts, codes = [], []
    for code in cb.load(conn).codes:
        name = code.name.replace("_", " ")
        texts += [name, code.definition, f"{name}. {code.definition}"] if code.definition else [name]
        codes += [code.id] * (3 if code.definition else 1)
    if not texts:
        return None
    models = model if isinstance(model, (list, tuple)) else [model]
    parts = [_encoder(conn, m, batch_size, cache)(texts) for m in models]
    return Definitions(texts, np.hstack(parts), codes, tuple(x.shape[1] for x in parts) if len(parts) > 1 else None)


def context_vectors(around: "Surroundings", encode, width: int) -> np.ndarray:
    """The context parts side by side, in the order models learnt them (a model trained on
    fewer parts reads the first ones): before, after, asked, and the run's mean embedding."""
    runs = sorted({tuple(run) for run in around.runs})
    members = sorted({t for run in runs for t in run})
    vectors = dict(zip(members, encode(members)))
    means = np.zeros((len(runs), width), np.float32)
    for i, run in enumerate(runs):
        means[i] = np.mean([vectors[t] for t in run], axis=0)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    row = {run: i for i, run in enumerate(runs)}
    mean_of = means[[row[tuple(run)] for run in around.runs]] if around.runs else np.zeros((0, width), np.float32)
    return np.hstack([encode(around.before), encode(around.after), encode(around.asked), mean_of])


@dataclass
class Surroundings:
    """For each utterance: the utterance before and after it, the last thing the interviewer
    said before it (the question being answered), the texts of the speaker's whole run
    of consecutive utterances (the answer it is part of), and that run's number. "" where
    there is none. In a document with a single voice throughout (a table or text without
    speaker labels) each utterance is an answer of its own: the whole document is no answer."""
    before: list[str]
    after: list[str]
    asked: list[str]
    runs: list[list[str]]
    answers: list[int]

    @classmethod
    def of(cls, conn, utts: list[Utterance]) -> "Surroundings":
        if not utts:
            return cls([], [], [], [], [])
        every = utterances(conn, sorted({u.document for u in utts}), participants_only=False)
        place, answer = {}, 0
        for _, rows in groupby(every, key=lambda u: u.document):
            rows = list(rows)
            runs = [list(run) for _, run in groupby(rows, key=lambda u: u.speaker)]
            alone = len(runs) == 1  # one voice throughout (no speaker labels): no answers to tell apart
            asked, i = "", 0
            for run in runs:
                texts = [u.text for u in run]
                for k, u in enumerate(run):
                    answer += 1 if alone or not k else 0
                    before = rows[i - 1].text if i else ""
                    after = rows[i + 1].text if i + 1 < len(rows) else ""
                    place[u.id] = (before, after, asked, texts, answer)
                    asked = u.text if u.is_interviewer else asked
                    i += 1
        return cls(*map(list, zip(*[place[u.id] for u in utts])))


def reading(inp: Inputs, keep: list[int]) -> Inputs:
    """The columns of the models ``keep`` from inputs read by several models side by side (of
    the widths :func:`side_by_side` recorded)."""
    parts = inp.context.shape[1] // max(sum(inp.widths), 1)
    return Inputs(inp.texts, inp.X[:, _columns(inp.widths, keep, 1)], inp.context[:, _columns(inp.widths, keep, parts)],
                  inp.answers, _kept(inp.widths, keep))


def _columns(widths: tuple[int, ...], keep: list[int], repeats: int) -> np.ndarray:
    """Indices of the kept models' columns among ``repeats`` groups of blocks ``widths`` wide, models taking turns."""
    starts = np.cumsum([0, *widths])
    one = [c for m in sorted(keep) for c in range(starts[m], starts[m + 1])]
    return np.asarray([r * starts[-1] + c for r in range(repeats) for c in one], dtype=int)


def _kept(widths: tuple[int, ...], keep: list[int]) -> tuple[int, ...] | None:
    return tuple(widths[m] for m in sorted(keep)) if len(keep) > 1 else None
