"""Faster encoders against the full model: speed, and agreement on the AnnoMI classifier benchmarks.

    python bench/encoders.py [--shared ../shared] [--backends torch,onnx-int8,static] [--speed-texts 3000]

For each backend (``[embedding] backend`` in autocode.toml) it times ``embed.encode`` of the same
AnnoMI utterances in this process (after loading; building the fast encoders from the local
model is timed apart, once), then runs bench/annomi.py's tasks through the CLI with that backend:
add every utterance, import the experts' codes of 80% of transcripts, train, suggest for the
held-out 20%, and ``autocode compare expert machine``. A backend qualifies as a default only if
kappa stays within 0.01 of the full model's on both tasks. Needs ``pip install -e ".[fast]"``.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from annomi import TASKS, split, write_task
from common import autocode, set_setting

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def speed(texts: list[str], backend: str) -> dict:
    """Seconds to build (first use only), load, and encode ``texts``."""
    from autocode import embed

    cold = not any(embed.cache_folder().glob(f"{backend}-*")) if backend != "torch" else False
    t = time.perf_counter()
    embed.load_encoder(None, backend)
    loaded = time.perf_counter() - t
    t = time.perf_counter()
    embed.encode(texts, backend=backend)
    seconds = time.perf_counter() - t
    return {"backend": backend, "encode_s": seconds, "per_s": len(texts) / seconds,
            ("build_and_load_s" if cold else "load_s"): loaded}


def project_with(backend: str, table: Path, work: Path) -> Path:
    """A project using ``backend`` with every AnnoMI utterance added (and embedded)."""
    root = work / f"all-{backend}"
    autocode("init", str(root))
    set_setting(root, "embedding", "backend", backend)
    autocode("--quiet", "add", str(table), "--project", str(root))
    return root


def agreement(base: Path, files: dict, task: str, test: set[str], work: Path) -> dict:
    proj = work / f"{base.name}-{task}"
    shutil.copytree(base, proj)
    p = str(proj)
    autocode("codebook", "import", str(files["codebook"]), "--project", p)
    autocode("import-codings", str(files["train"]), "--coder", "expert", "--project", p)
    autocode("--quiet", "train", "--coder", "expert", "--project", p)
    docs = ",".join(sorted(f"T{t}" for t in test))
    autocode("--quiet", "suggest", "--documents", docs, "--project", p)
    autocode("import-codings", str(files["test"]), "--coder", "expert", "--project", p)
    o = json.loads(autocode("compare", "expert", "machine", "--documents", docs, "--json", "--project", p))["overall"]
    return {"kappa": o["cohen_kappa"], "kappa_ci": o.get("cohen_kappa_ci"), "units": o["n_units"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--backends", default="torch,onnx-int8,static")
    ap.add_argument("--speed-texts", type=int, default=3000)
    args = ap.parse_args()
    source = args.shared / "datasets/annomi/AnnoMI-simple.csv"
    if not source.is_file():
        sys.exit(f"{source} not found: this benchmark needs ../shared")
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    texts = [r["utterance_text"] for r in rows][: args.speed_texts]
    backends = args.backends.split(",")
    results = {b: speed(texts, b) for b in backends}
    for b in backends:
        print(f"speed {b}: {results[b]['per_s']:.0f} utterances/s", json.dumps(results[b]), flush=True)
    test = split(rows)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = {t: write_task(rows, t, work, test) for t in TASKS}
        for b in backends:
            t = time.perf_counter()
            base = project_with(b, files["therapist"]["table"], work)
            results[b]["add_s"] = time.perf_counter() - t
            for task in TASKS:
                results[b][task] = agreement(base, files[task], task, test, work)
                print(f"{b} {task}: kappa {results[b][task]['kappa']:.3f}", flush=True)
    report(results, backends)


def report(results: dict, backends: list[str]) -> None:
    full = results.get("torch")
    print("\n| backend | utterances/s | speed-up | therapist kappa | client kappa | change | qualifies as default |")
    print("|---|---|---|---|---|---|---|")
    for b in backends:
        r = results[b]
        up = r["per_s"] / full["per_s"] if full else float("nan")
        change = [r[t]["kappa"] - full[t]["kappa"] for t in TASKS] if full else [float("nan")] * 2
        ok = full is not None and all(abs(c) <= 0.01 for c in change)
        print(f"| {b} | {r['per_s']:.0f} | {up:.1f}x | {r['therapist']['kappa']:.3f} | {r['client']['kappa']:.3f} | "
              f"{change[0]:+.3f} / {change[1]:+.3f} | {'yes' if ok else 'no'} |")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
