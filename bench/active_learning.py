"""Active learning: how many labels autocode's order needs, against a random order.

    python bench/active_learning.py [--shared ../shared] [--seeds 3] [--work DIR] [--svg docs/active-learning.svg]
                                    [--corpus psw|annomi|both] [--split-seed 0] [--borrowed 0.5]

Two corpora: the reference study (themes, 5 plus "no code", over participant utterances) and
AnnoMI (therapist behaviour, 4 codes). Each is split by transcript with seed 0 (30% of the
10 reference transcripts, 20% of AnnoMI's 133, as bench/annomi.py); the training transcripts'
coded utterances are the pool a researcher would label. Both orders start from the same small
random seed set (2% of the pool), then add labels in batches, retraining each round with
autocode's learner (``learn.fit_classifier``: the codebook's definitions of the codes labelled
so far count as examples, as in ``autocode train``):

- random: the next batch is drawn at random;
- autocode: the next batch is the pool's most uncertain utterances under the current model,
  the same margin uncertainty and the same one-per-answer order ``autocode next`` uses
  (``ThemeClassifier.assess``, ``learn.one_per_answer``).

Each round learns, as ``autocode train`` does, the pool's unlabelled utterances that share an
answer with a labelled one too, with the nearest labelled one's codes (``learn.answer_mates``),
each counting ``--borrowed`` (default ``learn.BORROWED``, 0.5) as much as a labelled one; 0
learns the labelled utterances alone. ``--split-seed`` draws another transcript split (the
weight was chosen on splits 1 and 2; the report is split 0); it moves the reference study's
split only, AnnoMI's stays bench/annomi.py's.

Each round's model is scored by Cohen's kappa on the held-out transcripts. The report gives,
for each order, the smallest fraction of the pool that reaches 90% of the kappa of a model
trained on the whole pool (curves averaged over ``--seeds`` seed sets). Embeddings are
computed once per corpus through a project's cache (``--work`` keeps it between runs).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import work_folder

from autocode import Project, add_files, import_codings
from autocode import codebook as cb
from autocode.classify import ThemeClassifier
from autocode.compare import pair_agreement
from autocode.features import Definitions, Inputs, definitions, inputs
from autocode.learn import BORROWED, answer_mates, fit_classifier, one_per_answer, row_weights, training_set
from autocode.review import import_codebook

REPO = Path(__file__).resolve().parent.parent
STEPS = [0.02, 0.04, 0.06, 0.08, 0.10, 0.125, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50]


@dataclass
class Corpus:
    name: str
    inp: Inputs
    codes: list[list[str]]      # every code each utterance was given ("" = no code)
    test: np.ndarray            # held-out rows
    themes: dict                # code -> theme
    level: str                  # "theme" or "code": what kappa is computed over
    documents: np.ndarray | None = None  # each row's transcript
    definitions: Definitions | None = None  # the codebook's, as autocode's learner reads them
    borrowed: float = BORROWED  # how much an unlabelled utterance's borrowed codes count

    def unit(self, code: str) -> str:
        return self.themes.get(code, "") if self.level == "theme" else code


def _project(work: Path, name: str, codebook: Path, files: list[Path], codings: list[Path], coder: str) -> Project:
    root = work / name
    if (root / "autocode.toml").exists():
        return Project(root)
    p = Project.create(root)
    import_codebook(p, codebook, "bench")
    add_files(p, files)
    for f in codings:
        import_codings(p, f, coder)
    return p


def _held_out(documents: list[str], share: float, seed: int = 0) -> set[str]:
    ids = sorted(set(documents))
    return set(np.random.default_rng(seed).permutation(ids)[: round(len(ids) * share)])


def load(p: Project, coder: str, name: str, held_out: float | set[str], level: str, seed: int = 0) -> Corpus:
    """The coder's coded utterances; ``held_out`` is the test documents or the share to draw."""
    with p.transaction() as conn:
        utts, _, all_codes = training_set(conn, coder)
        inp = inputs(conn, utts)
        themes = {c.id: c.theme for c in cb.load(conn).codes}
        defs = definitions(conn)
    docs = [u.document for u in utts]
    test = _held_out(docs, held_out, seed) if isinstance(held_out, float) else held_out
    return Corpus(name, inp, all_codes, np.asarray([d in test for d in docs]), themes, level, np.asarray(docs), defs)


def psw(shared: Path, work: Path, split_seed: int = 0) -> Corpus:
    study = shared / "psw-study"
    p = _project(work, "psw", study / "codebook.yaml", sorted((study / "transcripts").glob("*.txt")),
                 [study / "gold_codings.csv"], "gold")
    return load(p, "gold", "Reference study (themes)", 0.3, "theme", split_seed)


def annomi(shared: Path, work: Path, task: str = "therapist") -> Corpus:
    sys.path.insert(0, str(REPO / "bench"))
    from annomi import split, write_task

    rows = list(csv.DictReader((shared / "datasets/annomi/AnnoMI-simple.csv").open(encoding="utf-8")))
    test = split(rows)  # the same held-out transcripts as bench/annomi.py
    files = write_task(rows, task, work, test)
    name = "annomi" if task == "therapist" else f"annomi-{task}"
    p = _project(work, name, files["codebook"], [files["table"]], [files["train"], files["test"]], "expert")
    what = {"therapist": "therapist behaviour", "client": "client talk type"}[task]
    return load(p, "expert", f"AnnoMI ({what})", {f"T{t}" for t in test}, "code")


def fit(c: Corpus, rows) -> ThemeClassifier:
    """Learn the labelled rows and, as ``autocode train`` does, the pool's unlabelled utterances
    of their answers with the codes they borrow (``learn.answer_mates``)."""
    rows = np.asarray(rows, dtype=int)
    mates, sources = answer_mates(c.inp.answers, rows, np.setdiff1d(np.flatnonzero(~c.test), rows))
    mates, sources = (mates, sources) if c.borrowed else (mates[:0], sources[:0])
    labels = [c.codes[i] for i in rows] + [c.codes[i] for i in sources]  # an utterance's codes, all of them
    learnt = np.concatenate([rows, mates])
    return fit_classifier(c.inp.rows(learnt), labels, c.themes, 1.0, c.definitions, quotable=len(rows),
                          weights=row_weights(range(len(learnt)), len(rows), c.borrowed))


def kappa(c: Corpus, clf: ThemeClassifier) -> float:
    """Held-out kappa; an utterance with several codes agrees if the machine chose any of them."""
    rows = np.flatnonzero(c.test)
    new = c.inp.rows(rows)
    machine = [c.unit(str(x)) for x in clf.predict(new.texts, embeddings=new.X, context=new.context, answers=new.answers)]
    return agreement(c, rows, machine)


def agreement(c: Corpus, rows, machine: list[str]) -> float:
    """Kappa of the machine's units for ``rows``; an utterance with several codes agrees if the
    machine chose any of them."""
    gold = [m if m in {c.unit(x) for x in c.codes[i]} else c.unit(c.codes[i][0]) for i, m in zip(rows, machine)]
    return pair_agreement(gold, machine)["cohen_kappa"]


def curve(c: Corpus, order: str, seed: int) -> list[float]:
    """Held-out kappa at each of STEPS (fractions of the pool labelled)."""
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(~c.test)
    labelled = list(rng.choice(pool, size=round(STEPS[0] * len(pool)), replace=False))
    scores, clf = [], None
    for step in STEPS:
        want = round(step * len(pool)) - len(labelled)
        if want > 0:
            labelled += list(_next_batch(c, clf, np.setdiff1d(pool, labelled), want, order, rng))
        clf = fit(c, labelled)
        scores.append(kappa(c, clf))
    return scores


def _next_batch(c: Corpus, clf: ThemeClassifier, rest: np.ndarray, k: int, order: str, rng) -> np.ndarray:
    if order == "random":
        return rng.choice(rest, size=k, replace=False)
    new = c.inp.rows(rest)
    uncertainty = clf.assess(new.texts, embeddings=new.X, context=new.context, answers=new.answers)[2]
    return rest[one_per_answer(np.argsort(-uncertainty, kind="stable"), new.answers)[:k]]


def needed(scores: list[float], target: float) -> float | None:
    """The first labelled fraction whose kappa reaches the target."""
    return next((s for s, k in zip(STEPS, scores) if k >= target), None)


def shared_answers(c: Corpus) -> float | None:
    """The share of pairs of pool utterances in one answer that share a unit (theme or code):
    how often a borrowed code is right. None when no answer holds two."""
    pool, same, pairs = np.flatnonzero(~c.test), 0, 0
    for a in set(c.inp.answers[pool].tolist()):
        rows = pool[c.inp.answers[pool] == a]
        for i in rows:
            for j in rows[rows > i]:
                pairs += 1
                same += bool({c.unit(x) for x in c.codes[i]} & {c.unit(x) for x in c.codes[j]})
    return same / pairs if pairs else None


def run(c: Corpus, seeds: int) -> dict:
    t0 = time.perf_counter()
    share = shared_answers(c)
    full = kappa(c, fit(c, np.flatnonzero(~c.test)))
    curves = {o: np.mean([curve(c, o, s) for s in range(seeds)], axis=0).tolist() for o in ("random", "autocode")}
    return {"name": c.name, "pool": int((~c.test).sum()), "test": int(c.test.sum()), "full": full,
            "curves": curves, "needed": {o: needed(k, 0.9 * full) for o, k in curves.items()},
            "level": c.level, "shared_answers": share, "seconds": time.perf_counter() - t0}


def svg(results: list[dict], path: Path) -> None:
    """A hand-written SVG: one panel per corpus, kappa against fraction of labels."""
    W, H, pad = 360, 260, 45
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W * len(results)}" height="{H + 40}" '
             'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    colours = {"random": "#888888", "autocode": "#1f5fbf"}
    for n, r in enumerate(results):
        ox = n * W
        top = max(r["full"], *(max(k) for k in r["curves"].values())) * 1.1
        x = lambda f: ox + pad + f / STEPS[-1] * (W - 2 * pad)
        y = lambda k: H - pad + 20 - max(k, 0) / top * (H - 2 * pad)
        parts.append(f'<text x="{ox + W / 2}" y="18" text-anchor="middle" font-weight="bold">{r["name"]}</text>')
        parts.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(STEPS[-1])}" y2="{y(0)}" stroke="black"/>'
                     f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(0)}" y2="{y(top)}" stroke="black"/>')
        for f in (0, 0.1, 0.2, 0.3, 0.4, 0.5):
            parts.append(f'<text x="{x(f)}" y="{y(0) + 14}" text-anchor="middle">{f:.0%}</text>')
        for k in np.arange(0, top, 0.1):
            parts.append(f'<text x="{x(0) - 5}" y="{y(k) + 4}" text-anchor="end">{k:.1f}</text>')
        parts.append(f'<text x="{ox + W / 2}" y="{H + 30}" text-anchor="middle">share of the pool labelled</text>')
        for value, label in ((r["full"], "all labels"), (0.9 * r["full"], "90%")):
            parts.append(f'<line x1="{x(0)}" y1="{y(value)}" x2="{x(STEPS[-1])}" y2="{y(value)}" stroke="#bb3333" '
                         f'stroke-dasharray="4 3"/><text x="{x(STEPS[-1])}" y="{y(value) - 3}" text-anchor="end" '
                         f'fill="#bb3333">{label} ({value:.2f})</text>')
        parts.append(f'<line x1="{x(0.25)}" y1="{y(0)}" x2="{x(0.25)}" y2="{y(top)}" stroke="#cccccc"/>')
        for i, (order, k) in enumerate(r["curves"].items()):
            pts = " ".join(f"{x(f):.1f},{y(v):.1f}" for f, v in zip(STEPS, k))
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{colours[order]}" stroke-width="2"/>')
            parts.append(f'<text x="{x(0.3)}" y="{y(0) - 12 - 14 * i}" fill="{colours[order]}">{order} order</text>')
    path.write_text("\n".join(parts + ["</svg>"]) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--seeds", type=int, default=3, help="seed sets averaged per order")
    ap.add_argument("--work", type=Path, help="keep the projects (and their embeddings) here between runs")
    ap.add_argument("--svg", type=Path, default=REPO / "docs" / "active-learning.svg")
    ap.add_argument("--corpus", choices=["psw", "annomi", "both"], default="both")
    ap.add_argument("--split-seed", type=int, default=0, help="the reference study's transcript split")
    ap.add_argument("--borrowed", type=float, default=BORROWED,
                    help="how much an unlabelled utterance's borrowed codes count (0: not learnt)")
    args = ap.parse_args()
    if not (args.shared / "psw-study").is_dir():
        sys.exit(f"{args.shared} has no psw-study: this benchmark needs ../shared")
    with work_folder(args.work) as work:
        loaders = {"psw": lambda s, w: psw(s, w, args.split_seed), "annomi": annomi}
        names = ["psw", "annomi"] if args.corpus == "both" else [args.corpus]
        results = []
        for name in names:
            corpus = loaders[name](args.shared, work)
            corpus.borrowed = args.borrowed
            results.append(r := run(corpus, args.seeds))
            report(r)
    svg(results, args.svg)
    print(f"plot: {args.svg}")


def report(r: dict) -> None:
    fmt = lambda f: "not within 50%" if f is None else f"{f:.1%}"
    print(f"{r['name']}: pool {r['pool']} utterances, {r['test']} held out; kappa with all labels {r['full']:.3f}; "
          f"90% of it = {0.9 * r['full']:.3f}  [{r['seconds']:.0f} s]")
    if r["shared_answers"] is not None:
        print(f"  pairs of pool utterances in one answer that share a {r['level']}: "
              f"{r['shared_answers']:.0%}")
    for order, k in r["curves"].items():
        print(f"  {order:8s} order reaches 90% with {fmt(r['needed'][order])} of the labels; kappa at "
              + ", ".join(f"{s:.0%}: {v:.3f}" for s, v in zip(STEPS, k)))


if __name__ == "__main__":
    main()
