"""How ``autocode add``, ``documents`` and ``import-codings`` put what they read into words:
who speaks in each transcript, what a REFI-QDA project brought and changed, and whose codings
a file became. ``cli`` keeps the commands."""
from __future__ import annotations

from pathlib import Path

from rich.text import Text

from .cli import and_list, out, plural, warn


def print_qdpx_import(f: Path, r: dict) -> None:
    """What a REFI-QDA project brought, and every way it changed work already in the project."""
    a = r["added"]
    docs = f"{len(r['documents'])} transcript(s) ({len(a.added)} new, {len(a.replaced)} replaced, {len(a.unchanged)} unchanged)"
    by = ", ".join(f"{who} {n}" for who, n in r["coders"].items()) or "none"
    out.print(Text(f"Imported {f.name}: {docs}; {r['themes']} themes and {r['codes']} codes ({r['new_codes']} new); "
                   f"{r['applied']} codes applied to {r['selections']} coded passages, stored as {r['codings']} codings of "
                   f"whole utterances (by coder: {by})."))
    for w in a.warnings:
        warn(w)
    if r["changes"]:
        out.print(Text(f"Changed in the codebook, as the file has it: {'; '.join(r['changes'][:8])}"
                       f"{' ...' if len(r['changes']) > 8 else ''}."))
    for who, had, differ in r["replaced"]:
        if differ:
            warn(f"the file's codings by {who} replaced their {had} earlier coding(s) of these transcripts; {differ} "
                 "utterance(s) are now coded differently (codings deleted in the QDA software are deleted here too). "
                 "If the file's coder is someone else with the same name, add it again with --coder THEIR-NAME.")
    if r["interviewer"]:
        warn(f"{r['interviewer']} coding(s) landed on the interviewer's words (or a transcript's heading), which autocode leaves out of training and "
             "agreement. If a speaker was wrongly taken for the interviewer, see --interviewer in 'autocode add --help'.")
    if r["coders"].get("imported"):
        warn(f"{r['coders']['imported']} coding(s) name no user the file lists, so they are stored under coder "
             "'imported'. To give them a name, add the file again with --coder NAME (a file of one coder).")
    if r["unplaced"]:
        warn(f"{r['unplaced']} coded passage(s) lie between utterances (in a heading or blank lines) and code nothing here.")


def speakers_line(d: dict) -> str:
    """'42 utterances: Interviewer (not coded) 12, Dr Khan 30': who speaks in a document."""
    parts = [f"{s['speaker']}{' (not coded)' if s['interviewer'] else ''} {s['utterances']}" for s in d["speakers"]]
    return f"{plural(d['utterances'], 'utterance')}: {', '.join(parts)}" if parts else "no utterances"


def print_other_themes(found: list[tuple], book) -> None:
    """A 'theme' cell that is not the code's theme in the codebook: left alone when only the code
    was changed, as happens when a coding is corrected in Excel; a move when the file is right."""
    by_code: dict[tuple[str, str], list[int]] = {}
    for row, code, theme in found:
        by_code.setdefault((code, theme), []).append(row)
    for (code, theme), rows in list(by_code.items())[:5]:
        where = f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(map(str, rows[:6]))}{' ...' if len(rows) > 6 else ''}"
        home = book.find_theme(book.theme_of(code))
        there = book.find_theme(theme)
        warn(f"{where}: code '{book.find_code(code).name}' is under theme '{home.name if home else '?'}' in the codebook, "
             f"but the file's 'theme' column says '{theme}'. The codebook's theme is kept (the column is only read "
             "out), so if you changed only the code, nothing is wrong. If the code belongs under that theme: "
             f"autocode code move {code} {there.id if there else 'THEME'}")


def print_import(r, lead: str, add: bool, book=None) -> None:
    if add:
        r.replaced = []   # nothing beyond the file's utterances was touched
    out.print(Text(f"{lead}Imported {r.codings} codings and {r.no_code} 'no code' decisions from {r.rows} rows "
                   f"for {len(r.documents)} document(s), as the codings of {and_list(r.coders)}." + (
                       " (Rows coding parts of one utterance with the same code make one coding.)"
                       if r.codings + r.no_code < r.rows else "")))
    for who, near in r.new_coders.items():
        if near:
            warn(f"'{who}' is a new coder in this project: did you mean '{near}'? If the name is mistyped: "
                 f"autocode remove-codings --coder {who}, then import the file again with --coder {near}"
                 f"{' --add' if add else ''}.")
    for who, before, differ in r.replaced:
        if differ:
            warn(f"this replaced {who}'s {before} earlier coding(s) of {', '.join(r.documents[:5])}"
                 f"{' ...' if len(r.documents) > 5 else ''}; {differ} utterance(s) are now coded differently. If the file is another coder's work, "
                 f"import it again with --coder THEIR-NAME, then import {who}'s own file again to restore theirs.")
    if r.interviewer:
        warn(f"{r.interviewer} coding(s) landed on the interviewer's words (or a transcript's heading), which autocode leaves out of training and "
             "agreement. If a speaker was wrongly taken for the interviewer, see --interviewer in 'autocode add --help'.")
    if r.other_theme:
        print_other_themes(r.other_theme, book)
    if r.unmatched:
        warn(f"{len(r.unmatched)} row(s) covered no utterance (rows "
             f"{', '.join(map(str, r.unmatched[:10]))}{'...' if len(r.unmatched) > 10 else ''}); check their offsets.")
