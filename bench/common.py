"""What the benchmark scripts share: running autocode's CLI as a researcher would."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path


def tuning_tag(rate: float, precision: str) -> str:
    """How a tuned model's folder in --work says its learning rate and arithmetic: "-lr2e-4"
    unless the rate is the default, "-bf16" when it learnt in bfloat16 (bench/nhs.py, bench/tuned_dev.py)."""
    from autocode.finetune import LEARNING_RATE, arithmetic

    return ("" if rate == LEARNING_RATE else f"-lr{rate:g}") + ("-bf16" if arithmetic(precision) == "bfloat16" else "")


def autocode(*args: str) -> str:
    """Run one autocode command; stop the benchmark with its message if it fails."""
    done = subprocess.run([sys.executable, "-m", "autocode.cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"autocode {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def set_setting(project: Path, section: str, key: str, value) -> None:
    """Change one setting in a project's autocode.toml, as a researcher would by hand."""
    import tomllib

    import tomli_w

    path = project / "autocode.toml"
    settings = tomllib.loads(path.read_text(encoding="utf-8"))
    settings.setdefault(section, {})[key] = value
    path.write_text(tomli_w.dumps(settings), encoding="utf-8")


def encoded(texts: list[str], path: Path | None, model: str | None = None):
    """Embeddings of ``texts`` (by the bundled model unless ``model`` is given), kept in the
    .npy file ``path`` when given, so a rerun of a benchmark skips the encoding."""
    import numpy as np

    from autocode.embed import encode

    if path and path.is_file():
        return np.load(path)
    X = encode(texts, model)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, X)
    return X


@contextlib.contextmanager
def work_folder(work: Path | None):
    """``work`` (made if missing), where projects and embeddings are kept between runs, or a
    temporary folder that goes when the benchmark ends."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = work or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
