"""The public API in autocode/__init__.py: explicit, and never hiding a stage module."""
from __future__ import annotations

import importlib
import types

import autocode

STAGES = ["ingest", "segment", "corpus", "embed", "cluster", "review", "codebook", "codings", "features", "classify",
          "finetune", "learn", "compare", "agreement", "export", "store", "cli", "demo", "errors"]


def test_every_public_name_exists():
    assert all(hasattr(autocode, name) for name in autocode.__all__)


def test_no_public_name_shadows_a_stage_module():
    for name in STAGES:
        importlib.import_module(f"autocode.{name}")
        assert isinstance(getattr(autocode, name), types.ModuleType), name


def _modules_loaded_by(code: str) -> set[str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
                          capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_autocode_and_its_cli_loads_no_heavy_library():
    """Every command pays for what the package imports on start-up; a command that reuses a
    cached result (propose over unchanged transcripts) should not wait for scikit-learn or torch."""
    loaded = _modules_loaded_by("import autocode, autocode.cli, autocode.cluster")
    assert not loaded & {"sklearn", "torch", "spacy", "sentence_transformers", "pandas", "scipy"}


def test_public_names_load_on_first_use():
    loaded = _modules_loaded_by("from autocode import ThemeClassifier, load_codebook, undo")
    assert "autocode.classify" in loaded and "autocode.undo" in loaded
    assert autocode.load_codebook is autocode.codebook.load_yaml
    assert "propose" in dir(autocode)
