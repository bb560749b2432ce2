"""The public API in autocode/__init__.py: explicit, and never hiding a stage module."""
from __future__ import annotations

import importlib
import types

import autocode

STAGES = ["ingest", "segment", "corpus", "embed", "cluster", "review", "codebook", "codings", "classify",
          "learn", "compare", "agreement", "export", "store", "cli", "demo", "errors"]


def test_every_public_name_exists():
    assert all(hasattr(autocode, name) for name in autocode.__all__)


def test_no_public_name_shadows_a_stage_module():
    for name in STAGES:
        importlib.import_module(f"autocode.{name}")
        assert isinstance(getattr(autocode, name), types.ModuleType), name
