"""autocode: first-pass coding of interview transcripts that learns from your own coding.

The public API, one function or class per pipeline stage. Each CLI command is a thin
wrapper over one of these.
"""
from .classify import ThemeClassifier
from .cluster import Candidate, cluster_labels, list_candidates, propose
from .codebook import Code, Codebook, Theme, load_yaml as load_codebook
from .codings import import_codings
from .agreement import kappa_words
from .compare import compare_files, compare_project, pair_agreement
from .corpus import Utterance, add_files, utterances
from .embed import cached_encode, encode
from .errors import AutocodeError
from .export import coding_rows, export_csv
from .ingest import Transcript, Turn, read_transcripts
from .learn import cross_validate, next_to_confirm, suggest, train
from . import confirm, undo
from .review import (accept, add_theme, define_code, merge, move_code, move_utterance, reject,
                     remove_utterance, rename_candidate, rename_code, rename_theme, reorder_themes, split)
from .segment import split_turns
from .store import Project

__version__ = "0.1.0"

__all__ = [
    "AutocodeError", "Candidate", "Code", "Codebook", "Project", "Theme", "ThemeClassifier", "Transcript",
    "Turn", "Utterance", "accept", "add_files", "add_theme", "cached_encode", "compare_files", "compare_project", "pair_agreement", "cluster_labels",
    "coding_rows", "cross_validate", "encode", "export_csv", "import_codings", "kappa_words", "list_candidates",
    "load_codebook", "merge", "move_code", "next_to_confirm", "propose", "read_transcripts", "reject", "rename_code",
    "rename_theme", "split_turns", "confirm", "undo", "define_code", "move_utterance",
    "remove_utterance", "rename_candidate", "reorder_themes", "split", "suggest", "train", "utterances",
]
