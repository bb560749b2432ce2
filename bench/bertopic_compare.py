"""Candidate codes against BERTopic: the same embeddings, the same machine, one script.

On the reference study (participant utterances, gold codes) and the single-label NHS comments
(../shared/datasets/nhs-patient-feedback: the comments its coders gave exactly one code), embeds
every text once with the bundled MiniLM, then runs autocode's clustering (what ``propose`` runs:
``cluster_labels`` with its outlier assignment, plus the c-TF-IDF keywords) and BERTopic 0.17 with
its defaults, passing it the same embeddings. For each it reports the clustering time, the share
of texts left unassigned, adjusted mutual information (AMI) against the gold codes (texts left
unassigned count as one group of their own, as BERTopic's topic -1 does), and whether two runs
with the same seed give identical groups. BERTopic's defaults set no seed, so it also runs
with its default UMAP given ``random_state=seed`` (BERTopic's own advice for reproducibility).

BERTopic is not one of autocode's dependencies; install it in a separate environment
(see docs/benchmarks.md). Without it, only autocode's figures are printed.

    python bench/bertopic_compare.py [--shared ../shared] [--seed 0] [--cache DIR] [--nhs-half test]
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_mutual_info_score

from autocode.cluster import cluster_labels, keywords_by_group
from common import encoded

REPO = Path(__file__).resolve().parent.parent
NHS_FILE = "datasets/nhs-patient-feedback/v6framework_230831.csv"
NHS_FIRST_CODE = "Not assigned"  # the first of the 50 one-hot code columns
HALVES = {"all": slice(None), "dev": slice(0, None, 2), "test": slice(1, None, 2)}  # tune on dev, report test


def psw_corpus(shared: Path) -> tuple[list[str], list[str | None]]:
    """Participant utterances of the reference study and their gold code (None unless exactly one)."""
    from autocode import codebook
    from autocode.codings import import_codings, labels_by_utterance
    from autocode.corpus import add_files, utterances
    from autocode.store import Project

    study = shared / "psw-study"
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "psw")
        with project.transaction() as conn:
            codebook.store(conn, codebook.load_yaml(study / "codebook.yaml"))
        add_files(project, [study / "transcripts"])
        import_codings(project, study / "gold_codings.csv", coder="gold")
        utts, gold = utterances(project.conn), labels_by_utterance(project.conn, "gold")
        project.close()
    single = [gold.get(u.id, []) for u in utts]
    return [u.text for u in utts], [c[0] if len(c) == 1 and c[0] else None for c in single]


def nhs_corpus(shared: Path) -> tuple[list[str], list[str | None]]:
    """NHS comments with exactly one code."""
    with (shared / NHS_FILE).open(encoding="utf-8", errors="replace", newline="") as f:
        rows = list(csv.reader(f))
    header, first = rows[0], rows[0].index(NHS_FIRST_CODE)
    texts, gold = [], []
    for r in rows[1:]:
        codes = [header[i] for i in range(first, len(header)) if r[i].strip() in ("1", "1.0")]
        if r[header.index("FFT answer")].strip() and len(codes) == 1:
            texts.append(r[header.index("FFT answer")].strip())
            gold.append(codes[0])
    return texts, gold


def run_autocode(texts: list[str], X: np.ndarray, seed: int) -> np.ndarray:
    labels = cluster_labels(X, seed=seed)
    keywords_by_group(texts, labels)
    return labels


def run_bertopic(texts: list[str], X: np.ndarray, seed: int | None) -> np.ndarray:
    from bertopic import BERTopic

    if seed is None:
        model = BERTopic()
    else:
        from umap import UMAP  # BERTopic's default UMAP, with a seed
        model = BERTopic(umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine",
                                         low_memory=False, random_state=seed))
    topics, _ = model.fit_transform(texts, embeddings=X)
    return np.asarray(topics)


def score(labels: np.ndarray, gold: list[str | None]) -> float:
    keep = [i for i, g in enumerate(gold) if g is not None]
    return adjusted_mutual_info_score([gold[i] for i in keep], labels[keep])


def twice(fn, texts, X, seed) -> dict:
    """Run ``fn`` twice with the same seed: the faster time, and whether the groups match."""
    times, runs = [], []
    for _ in range(2):
        t0 = time.perf_counter()
        runs.append(fn(texts, X, seed))
        times.append(time.perf_counter() - t0)
    return {"labels": runs[1], "seconds": min(times), "identical": bool(np.array_equal(runs[0], runs[1]))}


def methods(seed: int) -> dict:
    found = {"autocode": lambda t, X, s: run_autocode(t, X, seed)}
    try:
        import bertopic  # noqa: F401
    except ImportError:
        print("  (BERTopic not installed here: its rows are skipped. See docs/benchmarks.md.)")
        return found
    found["BERTopic defaults"] = lambda t, X, s: run_bertopic(t, X, None)
    found["BERTopic, UMAP seeded"] = lambda t, X, s: run_bertopic(t, X, seed)
    return found


def report(name: str, texts: list[str], gold: list[str | None], X: np.ndarray, seed: int) -> None:
    n_gold = sum(g is not None for g in gold)
    print(f"\n{name}: {len(texts)} texts, {n_gold} with one gold code ({len(set(gold) - {None})} codes)")
    print(f"  {'method':<24}{'time s':>8}{'unassigned':>12}{'groups':>8}{'AMI':>8}  same seed, same groups")
    for label, fn in methods(seed).items():
        r = twice(fn, texts, X, seed)
        lab = r["labels"]
        print(f"  {label:<24}{r['seconds']:>8.2f}{(lab == -1).mean():>11.1%}{len(set(lab) - {-1}):>8}"
              f"{score(lab, gold):>8.3f}  {'yes' if r['identical'] else 'NO'}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, help="keep the embeddings here between runs")
    ap.add_argument("--nhs-half", choices=["all", "dev", "test"], default="all",
                    help="dev/test: the even/odd single-label comments (tune on dev, report test)")
    ap.add_argument("--only", choices=["psw", "nhs"], help="run one corpus")
    args = ap.parse_args()
    if not (args.shared / "psw-study").is_dir():
        sys.exit(f"{args.shared} has no psw-study: this benchmark needs ../shared")
    corpora = {"Reference study (psw-study)": ("psw", lambda: psw_corpus(args.shared), slice(None)),
               f"NHS single-label comments ({args.nhs_half})": ("nhs", lambda: nhs_corpus(args.shared), HALVES[args.nhs_half])}
    for name, (key, load, keep) in corpora.items():
        if args.only in (None, key):
            texts, gold = load()
            X = encoded(texts, args.cache / f"{key}-{len(texts)}.npy" if args.cache else None)
            report(name, texts[keep], gold[keep], X[keep], args.seed)


if __name__ == "__main__":
    main()
