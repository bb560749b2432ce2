"""Issue 6, the cache: `propose` again over unchanged transcripts, against its first run.

Usage: python bench/propose_cache.py [--transcripts DIR]   (default: ../shared/psw-study/transcripts)

The project is built with `autocode add` (which embeds), so both runs find every vector cached;
what the second run saves is the clustering itself. Timed in one process (the step alone) and
through the CLI (with Python's start-up, which no cache can save).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import autocode  # noqa: E402

from autocode import Project  # noqa: E402
from autocode.cluster import propose  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "psw-study" / "transcripts"


def timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transcripts", type=Path, default=DEFAULT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        autocode("init", str(root))
        autocode("--quiet", "add", str(args.transcripts), "--project", str(root))
        project = Project(root)
        n = project.conn.execute("SELECT count(*) FROM utterances WHERE is_interviewer = 0").fetchone()[0]
        first, again = timed(lambda: propose(project)), timed(lambda: propose(project))
        project.close()
        print(f"{n} participant utterances; propose in one process: first {first:.2f} s, again {again:.3f} s "
              f"({again / first:.1%} of the first)")
        cli = [timed(lambda: autocode("--quiet", "propose", "--seed", str(seed), "--project", str(root)))
               for seed in (1, 1)]
        print(f"through the CLI (new seed, then the same again): {cli[0]:.2f} s, {cli[1]:.2f} s "
              f"({cli[1] / cli[0]:.0%}; Python start-up and imports are most of the second)")


if __name__ == "__main__":
    main()
