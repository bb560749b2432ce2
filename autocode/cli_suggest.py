"""How ``autocode suggest`` puts its suggestions into words: the most confident, a classifier
from another codebook, and when comparing the machine with its teacher flatters it (``compare``
warns the same). ``cli`` keeps the commands."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from . import codebook as cb
from .cli import out, warn


def warn_if_foreign(conn, clf, path: Path) -> None:
    """A classifier from another project may suggest codes this codebook does not have."""
    known = {c.id for c in cb.load(conn).codes}
    foreign = sorted({str(c) for c in clf.classes_} - known - {""})
    if foreign:
        warn(f"{path} suggests {len(foreign)} code(s) this project's codebook does not have ({', '.join(foreign[:6])}"
             f"{' ...' if len(foreign) > 6 else ''}): their suggestions will have no theme, and importing them is "
             "refused. Import that project's codebook first (autocode codebook import FILE), or train here.")


def warn_if_learnt(coder: str, seen: int) -> None:
    """Comparing the machine with the coder it learnt from, on the utterances it learnt, flatters it."""
    if seen:
        warn(f"{seen} of these utterances were coded by {coder} when the classifier learnt from {coder}'s codings, "
             f"so comparing the machine with {coder} on them flatters it. For an honest figure, see the "
             "cross-validated agreement 'autocode train' reports, or compare on transcripts coded after training "
             "or by someone else.")


def print_speakers(conn, added) -> None:
    """Who speaks in the files just added, as 'autocode add' shows it: an interviewer read as a
    participant would have their questions coded."""
    from .cli_add import speakers_line
    from .corpus import summary

    for warning in added.warnings:
        warn(warning)
    for d in summary(conn, added.added + added.replaced):
        out.print(Text(f"  {d['document']}: {speakers_line(d)}"))


def print_suggestions(rows: list[dict], out_file, participants: int = 1) -> None:
    from .corpus import clip

    if not participants:
        return out.print("Nothing to suggest: every utterance there was read as the interviewer's (or a heading), so "
                         "there is nothing of a participant's to code. 'autocode documents' shows who speaks; if a "
                         "participant was taken for the interviewer, add the file again with --replace.")
    if not rows:
        return out.print("Nothing to suggest: every participant utterance there is coded already (by the coder the "
                         "classifier learnt from). To set the machine beside their codings, add --include-coded.")
    coded = [r for r in rows if r["code"]]
    out.print(f"Suggested codes for {len(rows)} utterances ({len(coded)} with a code, "
              f"{len(rows) - len(coded)} 'no code').")
    table = Table("document", "#", "code", "conf.", "text",
                  title=f"The {min(10, len(coded))} most confident of {len(coded)} suggested codes")
    for r in sorted(coded, key=lambda r: -r["confidence"])[:10]:
        table.add_row(Text(r["document"]), str(r["utterance"]), Text(r.get("code name") or r["code"]), f"{r['confidence']:.2f}",
                      Text(clip(r["text"], 100)))
    out.print(table)
    out.print(f"Wrote all suggestions to {out_file}." if out_file else
              "Next: [bold]autocode next[/] lists the ones to confirm first and [bold]autocode confirm DOCUMENT "
              "NUMBER[/] accepts one (or the review page, autocode review); [bold]autocode export --coder machine "
              "--out FILE.csv[/] writes them all.")
