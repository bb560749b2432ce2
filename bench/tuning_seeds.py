"""Several tunings averaged into one network ("model soup"), on AnnoMI's training transcripts only.

    python bench/tuning_seeds.py [--shared ../shared] [--task therapist|client] [--splits 0 1 2] --work DIR

A tuning's result depends on its seed (the order of the batches and the new layer's first
weights) by about 0.01-0.02 of kappa on a dev split. Averaging the weights of tunings that
differ only in their seed (Wortsman et al., 2022: tunings from one starting model stay close
enough to average) smooths that out at the cost of one tuning per seed. For each dev split of
``bench/tuned_dev.py`` (the held-out 20% of ``bench/annomi.py`` never read) the bundled model
is tuned with seeds 0, 1 and 2 and the classifier scored on the split's dev transcripts reading:
each tuning alone or beside the general model (what ``train --fine-tune`` keeps on therapist
behaviour), the average of seeds 0-1 ("soup2") or 0-2 ("soup3"), and two tunings side by side.
``--work`` keeps the project and every tuned model, so a rerun only scores.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from annomi import TASKS, split
from tuned_dev import print_table, project_of, score, training_rows

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def soup(folders: list[Path], out: Path) -> Path:
    """One network whose every weight is the mean of the tunings' (made once, kept in --work)."""
    from sentence_transformers import SentenceTransformer

    if not out.exists():
        nets = [SentenceTransformer(str(f), device="cpu") for f in folders]
        states = [n.state_dict() for n in nets]
        mean = {k: sum(s[k].float() for s in states) / len(states) if v.is_floating_point() else v
                for k, v in states[0].items()}
        nets[0].load_state_dict(mean)
        nets[0].save(str(out))
    return out


def one_split(proj: Path, rows: list[dict], seed: int, work: Path) -> dict:
    from autocode import learn
    from autocode.finetune import fine_tune
    from autocode.store import Project

    dev = {f"T{t}" for t in split(rows, seed)}
    with Project(proj).transaction() as conn:
        utts, main, all_codes = learn.training_set(conn, "expert")
        train = [i for i, u in enumerate(utts) if u.document not in dev]
        test = [i for i, u in enumerate(utts) if u.document in dev]
        tuned = [work / f"{proj.name}-s{seed}-t{t}" for t in (0, 1, 2)]
        for t, folder in enumerate(tuned):
            if not folder.exists():
                fine_tune([utts[i].text for i in train], [main[i] for i in train], folder, seed=t)
        models = {"t0": tuned[0], "t1": tuned[1], "soup2": soup(tuned[:2], work / f"{proj.name}-s{seed}-soup2"),
                  "soup3": soup(tuned, work / f"{proj.name}-s{seed}-soup3")}
        plain = learn.inputs(conn, utts)
        read = {name: learn.inputs(conn, utts, str(folder), cache=False) for name, folder in models.items()}
    both = learn.side_by_side
    ways = {"general": plain, "tuned, seed 0": read["t0"], "soup3": read["soup3"],
            "general + tuned, seed 0": both([plain, read["t0"]]), "general + tuned, seed 1": both([plain, read["t1"]]),
            "general + soup2": both([plain, read["soup2"]]), "general + soup3": both([plain, read["soup3"]]),
            "general + tuned seeds 0 and 1": both([plain, read["t0"], read["t1"]])}
    return score({name: (inp, 1.0) for name, inp in ways.items()}, main, all_codes, train, test, seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--task", choices=list(TASKS), default="therapist")
    ap.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--work", type=Path, required=True)
    a = ap.parse_args()
    rows = training_rows(a.shared)
    a.work.mkdir(parents=True, exist_ok=True)
    proj = project_of(rows, a.task, a.work)
    print_table([one_split(proj, rows, s, a.work) for s in a.splits])

if __name__ == "__main__":
    main()
