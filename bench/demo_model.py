"""Retrain the classifier shipped in models/ from the demo corpus in data/.

    python bench/demo_model.py            # writes models/psw-demo.npz and prints its figures

Trains on coder alice's codings of D01-D07 (the demo codebook's 17 codes plus "no code"),
with cross-validation by document, exactly as `autocode train --coder alice` does.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from autocode import Project, add_files, import_codings, train
from autocode.learn import latest_classifier
from autocode.review import import_codebook

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Project.create(Path(tmp) / "demo")
        import_codebook(p, DATA / "codebook.yaml", "builder")
        add_files(p, sorted((DATA / "transcripts").glob("D0[1-7].txt")))
        for f in sorted((DATA / "codings").glob("alice_*.csv")):
            import_codings(p, f)
        metrics = train(p, "alice")
        clf, _ = latest_classifier(p.conn)
        clf.model = None  # the bundled default, wherever it is installed
        clf.save(REPO / "models" / "psw-demo.npz")
        p.close()
    cv = metrics["cross_validation"]
    print(json.dumps({"utterances": metrics["utterances"], "counts": metrics["counts"], "cross_validation": cv}, indent=2))


if __name__ == "__main__":
    main()
