"""autocode: first-pass coding of interview transcripts that learns from your own coding.

The public API, one function or class per pipeline stage. Each CLI command is a thin
wrapper over one of these.

Names load on first use (PEP 562): ``import autocode`` stays cheap, so a command that only
reads the project (or reuses a cached result) does not pay for scikit-learn, spaCy or torch.
"""
from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

# public name -> (module, attribute in it); attribute None means the module itself
_PUBLIC = {
    "ThemeClassifier": ("classify", None),
    "Candidate": ("cluster", None), "cluster_labels": ("cluster", None), "list_candidates": ("cluster", None),
    "propose": ("cluster", None),
    "Code": ("codebook", None), "Codebook": ("codebook", None), "Theme": ("codebook", None),
    "load_codebook": ("codebook", "load_yaml"),
    "import_codings": ("codings", None),
    "kappa_words": ("agreement", None),
    "compare_files": ("compare", None), "compare_project": ("compare", None), "pair_agreement": ("compare", None),
    "Utterance": ("corpus", None), "add_files": ("corpus", None), "utterances": ("corpus", None),
    "cached_encode": ("embed", None), "encode": ("embed", None),
    "AutocodeError": ("errors", None),
    "coding_rows": ("export", None), "export_csv": ("export", None),
    "Transcript": ("ingest", None), "Turn": ("ingest", None), "read_transcripts": ("ingest", None),
    "cross_validate": ("learn", None), "next_to_confirm": ("learn", None), "suggest": ("learn", None),
    "train": ("learn", None),
    "confirm": ("confirm", ""), "undo": ("undo", ""),
    **{name: ("review", None) for name in (
        "accept", "add_theme", "define_code", "merge", "move_code", "move_utterance", "reject",
        "remove_utterance", "rename_candidate", "rename_code", "rename_theme", "reorder_themes", "split")},
    "merge_codes": ("recode", None), "remove_code": ("recode", None), "remove_theme": ("recode", None),
    "reconcile": ("reconcile", None), "settle": ("reconcile", None),
    "remove_documents": ("withdraw", None), "project_status": ("status", None),
    "split_turns": ("segment", None),
    "Project": ("store", None),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'autocode' has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    loaded = import_module(f".{module}", __name__)
    value = loaded if attribute == "" else getattr(loaded, attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
