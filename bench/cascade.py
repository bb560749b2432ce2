"""Issue 6: the static encoder as a first pass, with the full model only where it is unsure.

    python bench/cascade.py [--shared ../shared] [--work DIR]     (needs pip install -e ".[fast]")

On AnnoMI (held-out 20% of transcripts, seed 0, as bench/annomi.py), for each task a classifier
is trained on static (model2vec) vectors and one on the full model's. Each held-out utterance is
coded by the static classifier; those it is least sure of (confidence below a threshold) go to
the full model's. The threshold is chosen on the training transcripts only (5 document folds):
the lowest share sent to the full model at which the cascade's cross-validated kappa is within
0.005 of the full model's. Reported: held-out kappa of static, full and the cascade, and the
share of utterances the full model had to embed (the routed ones and their neighbours, whose
vectors are the context). Both classifiers read the same context parts (``learn.inputs``).
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import active_learning as al  # noqa: E402
from annomi import TASKS, split  # noqa: E402

from autocode.classify import ThemeClassifier  # noqa: E402
from autocode.compare import pair_agreement  # noqa: E402
from autocode.corpus import utterances  # noqa: E402
from autocode.embed import encode  # noqa: E402
from autocode.features import Surroundings, context_vectors, inputs  # noqa: E402

SHARES = np.round(np.arange(0.0, 1.01, 0.05), 2)


def fit(texts, X, ctx, y) -> ThemeClassifier:
    return ThemeClassifier().fit(texts, y, embeddings=X, context=ctx)


def cascade(static_clf, full_clf, rows, S, Sc, F, Fc, texts, share: float) -> np.ndarray:
    """Static codes, replaced by the full model's for the least confident ``share`` of rows."""
    codes, confidence = static_clf.suggest(texts[rows], embeddings=S[rows], context=Sc[rows])
    n = int(round(share * len(rows)))
    if n:
        routed = np.argsort(confidence, kind="stable")[:n]
        codes = codes.copy()
        codes[routed] = full_clf.predict(texts[rows][routed], embeddings=F[rows][routed], context=Fc[rows][routed])
    return codes


def choose_share(train, y, groups, texts, S, Sc, F, Fc) -> tuple[float, list]:
    """The smallest share whose cascade kappa (document folds) is within 0.005 of the full model's."""
    curves, full_k = [], []
    predicted = {s: np.empty(len(train), dtype=object) for s in SHARES}
    full_pred = np.empty(len(train), dtype=object)
    for a, b in GroupKFold(5).split(train, groups=groups[train]):
        ta, tb = train[a], train[b]
        sc, fc = fit(texts[ta], S[ta], Sc[ta], y[ta]), fit(texts[ta], F[ta], Fc[ta], y[ta])
        full_pred[b] = fc.predict(texts[tb], embeddings=F[tb], context=Fc[tb])
        for s in SHARES:
            predicted[s][b] = cascade(sc, fc, tb, S, Sc, F, Fc, texts, s)
    full_k = pair_agreement(y[train], full_pred)["cohen_kappa"]
    curves = [(float(s), pair_agreement(y[train], predicted[s])["cohen_kappa"]) for s in SHARES]
    return next(s for s, k in curves if k >= full_k - 0.005), curves


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=al.REPO.parent / "shared")
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="autocode-cascade-"))
    rows = list(csv.DictReader((args.shared / "datasets/annomi/AnnoMI-simple.csv").open(encoding="utf-8")))
    al.annomi(args.shared, work)
    with al.Project(work / "annomi").transaction() as conn:
        utts = utterances(conn, participants_only=False)
        full = inputs(conn, utts)
        around = Surroundings.of(conn, utts)
    texts = full.texts
    docs = np.asarray([u.document for u in utts])
    t = time.perf_counter()
    S = encode(list(texts), backend="static")
    static_s = time.perf_counter() - t
    Sc = context_vectors(around, lambda t: encode(list(t), backend="static"), S.shape[1])  # the same parts as the full model's
    held_out = {f"T{x}" for x in split(rows)}
    row = {(f"T{r['transcript_id']}", int(r["utterance_id"])): r for r in rows}
    print(f"static vectors for {len(texts)} utterances: {static_s:.1f} s")
    for task, (speaker, column, codes) in TASKS.items():
        keep = np.asarray([i for i, u in enumerate(utts) if (r := row.get((u.document, u.idx)))
                           and r["interlocutor"] == speaker and r[column] in codes])
        y = np.asarray([row[utts[i].document, utts[i].idx][column] for i in keep], dtype=object)
        test = np.asarray([docs[i] in held_out for i in keep])
        g = docs[keep]
        tr, te = np.flatnonzero(~test), np.flatnonzero(test)
        T, Sk, Sck, Fk, Fck = texts[keep], S[keep], Sc[keep], full.X[keep], full.context[keep]
        share, curve = choose_share(tr, y, g, T, Sk, Sck, Fk, Fck)
        sc, fc = fit(T[tr], Sk[tr], Sck[tr], y[tr]), fit(T[tr], Fk[tr], Fck[tr], y[tr])
        kappa = {name: pair_agreement(y[te], cascade(sc, fc, te, Sk, Sck, Fk, Fck, T, s))["cohen_kappa"]
                 for name, s in (("static", 0.0), ("full", 1.0), ("cascade", share))}
        routed = np.argsort(sc.suggest(T[te], embeddings=Sk[te], context=Sck[te])[1], kind="stable")[:int(round(share * len(te)))]
        need = {keep[te][r] + d for r in routed for d in (-1, 0, 1)}
        task_rows = {keep[i] + d for i in te for d in (-1, 0, 1)}
        print(f"{task}: held-out kappa static {kappa['static']:.3f}, full {kappa['full']:.3f}, cascade {kappa['cascade']:.3f} "
              f"({kappa['cascade'] - kappa['full']:+.3f}) sending {share:.0%} of utterances to the full model "
              f"(chosen on training folds); the full model embeds {len(need)} of the {len(task_rows)} texts it would "
              f"otherwise ({len(need) / len(task_rows):.0%})")
        print("   training-fold curve (share to full model: kappa): " + ", ".join(f"{s:.2f}: {k:.3f}" for s, k in curve))


if __name__ == "__main__":
    main()
