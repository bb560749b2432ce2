"""Codings: which code each coder gave each utterance, imported from CSV or made in autocode.

The CSV shape is the one ``autocode export`` writes: ``document`` and ``code`` plus either
``start``/``end`` character offsets or an ``utterance`` id. Spans apply to the utterances
they cover by more than half, so codings made on sentences or paragraphs in another tool
land on autocode's utterances.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path

from . import codebook as cb
from .errors import AutocodeError
from .ingest import decode, read_bytes, read_delimited
from .store import Project, default_coder, now, session_coder


MACHINE = "machine"   # the coder name under which autocode's own suggestions are stored


@dataclass
class ImportReport:
    rows: int = 0
    codings: int = 0
    no_code: int = 0
    unmatched: list[int] = field(default_factory=list)   # CSV rows that covered no utterance
    documents: list[str] = field(default_factory=list)
    replaced: list[tuple[str, int, int]] = field(default_factory=list)   # (coder, codings before, utterances coded differently)
    interviewer: int = 0          # codings that landed on the interviewer's words
    coders: list[str] = field(default_factory=list)   # whose codings the file's rows became
    new_coders: dict[str, str] = field(default_factory=dict)   # coder new to the project: a known name it is close to, or ""
    other_theme: list[tuple] = field(default_factory=list)   # (row, code, theme cell) where the cell is not the code's theme


SPREADSHEETS = (".xlsx", ".xls", ".ods")   # codings come as CSV: these are refused with how to save one


def read_csv(path: Path):
    if path.suffix.lower() in SPREADSHEETS:
        raise AutocodeError("is a spreadsheet; codings are read from CSV files",
                            "in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)', then use the .csv", str(path))
    text = decode(path, read_bytes(path, "codings files (.csv)"))
    try:
        frame = read_delimited(text)
    except Exception as exc:
        raise AutocodeError(f"cannot be read as CSV ({exc})", "save it again as CSV (UTF-8)", str(path)) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return _without_empty_rows(frame.apply(lambda column: column.map(_formula_apostrophe_off)), path)


def _without_empty_rows(frame, path: Path):
    """Excel saves rows it once used as lines of bare separators (",,,,"). At the end they are
    dropped; between rows they would shift every later row's number, so they are pointed out."""
    empty = [not any(str(v).strip() for v in row) for row in frame.itertuples(index=False)]
    n = len(empty)
    while n and empty[n - 1]:
        n -= 1
    inside = [i + 2 for i in range(n) if empty[i]]
    if inside:
        raise AutocodeError(f"row {inside[0]} is empty" + (f" (and {len(inside) - 1} more)" if len(inside) > 1 else ""),
                            "delete the empty rows in the spreadsheet, save it as CSV again, and run the command again",
                            str(path))
    return frame.iloc[:n]


def _formula_apostrophe_off(value):
    """``export.to_csv`` puts an apostrophe before a cell Excel would run as a formula."""
    from .export import FORMULA_START

    return value[1:] if isinstance(value, str) and value[:1] == "'" and value[1:].startswith(FORMULA_START) else value


def _require_columns(frame, path: Path) -> None:
    missing = [c for c in ("document", "code") if c not in frame.columns]
    has_span = {"start", "end"} <= set(frame.columns)
    if missing or not (has_span or "utterance" in frame.columns):
        need = missing + ([] if has_span or "utterance" in frame.columns else ["start and end, or utterance"])
        raise AutocodeError(
            f"the codings table is missing column(s): {', '.join(need)} (found: {', '.join(frame.columns)})",
            "a codings CSV needs 'document', 'code', and either 'start'/'end' offsets or 'utterance'", str(path))


def _theme_agrees(book: cb.Codebook, code: str, theme: str) -> bool:
    """A file's 'theme' cell (id or name) is information only: the codebook places the code."""
    found = book.find_theme(theme) if theme.strip() else None
    return not theme.strip() or (found is not None and found.id == book.theme_of(code))


def _unknown_document(doc: str, row: int, known: list[str], path: Path) -> AutocodeError:
    """A document id as a researcher mistypes it: with the file's extension, in other case."""
    stem = Path(doc).stem if Path(doc).suffix.lower() in (".txt", ".docx", ".md", ".vtt", ".srt", ".csv", ".xlsx") else doc
    guess = next((k for k in known if k.casefold() == stem.casefold()), None) \
        or next(iter(get_close_matches(stem, known, n=1, cutoff=0.8)), None)
    hint = f" (did you mean '{guess}'?)" if guess else ""
    return AutocodeError(f"row {row}: document '{doc}' is not in this project{hint}",
                         (f"write it as '{guess}' in the 'document' column" if guess else
                          "add the transcript first with 'autocode add FILE', or fix the name")
                         + " ('autocode documents' lists the ids)", str(path))


def _resolve_code(book: cb.Codebook, value: str, row: int, path: Path) -> str:
    if not value.strip():
        return ""
    code = book.find_code(value)
    if code is None:
        known = ", ".join(c.id for c in book.codes) or "the codebook is empty"
        guess = book.nearest(value)
        raise AutocodeError(
            f"row {row}: unknown code '{value}'" + (f" (did you mean '{guess}'?)" if guess else ""),
            f"use a code id or name from the codebook ({known}), or add the code first "
            "(autocode codebook import FILE.yaml, or accept a candidate)", str(path))
    return code.id


def _int(value: str, column: str, row: int, path: Path) -> int:
    text = str(value).strip()
    number = float(text) if re.fullmatch(r"-?\d+(\.0*)?", text) else None
    if number is not None and number < 0:
        raise AutocodeError(f"row {row}: '{column}' is {text}, but offsets count characters from the start of the "
                            "transcript and cannot be negative", "fix the offsets", str(path))
    if number is None:
        raise AutocodeError(f"row {row}: '{column}' is '{value}', not a whole number",
                            f"give {column} as a character offset such as 120", str(path))
    return int(number)


def _targets(conn, doc: str, rec: dict, row: int, path: Path) -> list[int]:
    """Utterance ids a CSV row codes. An 'utterance' is autocode's number for it (what export
    writes); a table transcript's own 'id' (or a sheet's row number) only where no number is it."""
    if rec.get("utterance", "").strip():
        ref = rec["utterance"].strip()
        hit = conn.execute("SELECT id FROM utterances WHERE document = ? AND (CAST(idx AS TEXT) = ? OR source_id = ?)"
                           " ORDER BY CAST(idx AS TEXT) = ? DESC, idx LIMIT 1", (doc, ref, ref, ref)).fetchone()
        if hit is None:
            raise AutocodeError(f"row {row}: document '{doc}' has no utterance '{ref}'",
                                "use the utterance numbers from 'autocode export', or start/end offsets", str(path))
        return [hit[0]]
    if not str(rec.get("start", "")).strip() and not str(rec.get("end", "")).strip():
        raise AutocodeError(f"row {row} says where it codes neither by an utterance number nor by start/end offsets",
                            f"fill its 'utterance' column with the utterance's number ('autocode show {doc}' lists "
                            "them); nothing was imported", str(path))
    start, end = _int(rec["start"], "start", row, path), _int(rec["end"], "end", row, path)
    if end <= start:
        raise AutocodeError(f"row {row}: end ({end}) is not after start ({start})", "fix the offsets", str(path))
    return overlapping(conn, doc, start, end)


def overlapping(conn, doc: str, start: int, end: int) -> list[int]:
    """Utterances a span covers by more than half; failing a participant's among them, also the
    participant utterance holding most of the span (a selection that takes in the interviewer's
    "Mm." and the start of an answer codes the answer); failing any, the one holding most of
    the span (a selection across the end of one answer and the start of the next)."""
    rows = conn.execute("SELECT id, start, end, is_interviewer FROM utterances WHERE document = ? AND end > ? "
                        "AND start < ?", (doc, start, end)).fetchall()
    overlap = [(r["id"], min(end, r["end"]) - max(start, r["start"]), r["end"] - r["start"], r["is_interviewer"])
               for r in rows]
    hits = [o for o in overlap if o[1] * 2 > o[2]]
    spoken = max((o for o in overlap if not o[3]), key=lambda o: o[1], default=None)
    if spoken and all(o[3] for o in hits) and spoken[1] * 2 > end - start:
        hits.append(spoken)
    if not hits and overlap:
        hits = [max(overlap, key=lambda o: o[1])]
    return [o[0] for o in sorted(hits)]


def import_codings(project: Project, path: str | Path, coder: str | None = None,
                   decided_by: str | None = None, replace: bool = False, add: bool = False) -> ImportReport:
    """Replace each coder's codings of the documents in the file with the file's codings; with
    ``add``, only their codings of the utterances the file codes (the rest stay).

    The coder is ``coder`` for every row, or, when not given, each row's ``coder`` column.
    A file that would take away most of a coder's codings of its documents (a stray row under
    their name in a colleague's file) is refused unless ``replace``.
    """
    path = Path(path)
    _check_coder_option(coder)
    frame = read_csv(path)
    if frame.empty:
        raise AutocodeError("the file has a header but no rows of codings", "check you exported the right file", str(path))
    _require_columns(frame, path)
    if not coder and "coder" not in frame.columns:
        coder = session_coder()
        if not coder:
            raise AutocodeError("the file has no 'coder' column and no coder was named",
                                "name the coder with --coder NAME (or set AUTOCODE_CODER for the session)", str(path))
    named = sorted({c.strip() for c in frame["coder"] if c.strip()}) if coder and "coder" in frame.columns else []
    if len(named) > 1:
        raise AutocodeError(f"--coder {coder} would put the codings of {len(named)} coders ({', '.join(named[:6])}) "
                            "under one name", "export one coder's codings (autocode export --coder NAME), or leave out "
                            "--coder to keep each row's coder; nothing was imported", str(path))
    report = ImportReport(rows=len(frame))
    with project.transaction() as conn:
        known = [c for c in coders(conn) if c != MACHINE]
        book = cb.load(conn)
        texts = dict(conn.execute("SELECT id, text FROM documents").fetchall())
        length = {doc: len(text) for doc, text in texts.items()}
        _check_codes(book, frame, path)
        pairs: dict[tuple[int, str, str], tuple] = {}
        for i, rec in enumerate(frame.to_dict("records"), start=2):
            doc, who = rec["document"].strip(), coder or rec["coder"].strip()
            if doc not in length:
                raise _unknown_document(doc, i, list(length), path)
            if not who:
                raise AutocodeError(f"row {i}: the coder is empty", "fill in the 'coder' column, or use --coder NAME", str(path))
            code = _resolve_code(book, rec["code"], i, path)
            if code and not _theme_agrees(book, code, rec.get("theme", "")):
                report.other_theme.append((i, code, rec["theme"].strip()))
            targets = _targets(conn, doc, rec, i, path)
            _check_text(conn, doc, texts[doc], rec, targets, i, path)
            if not targets:
                report.unmatched.append(i)
            for uid in targets:
                pairs[(uid, code, who)] = (_confidence(rec.get("confidence", "")), rec.get("reason", "").strip() or None)
        _check_placed(frame, report.unmatched, length, path)
        pairs = _drop_redundant_no_code(pairs)
        report.documents = sorted({d.strip() for d in frame["document"]})
        whose = sorted({k[2] for k in pairs} | ({coder} if coder else set()))
        report.replaced = replace_each(conn, whose, report.documents, pairs, path, guard=not replace and not add,
                                       add=add, keep_reasons=lambda who: "reason" not in frame.columns)
        report.coders = sorted({k[2] for k in pairs})
        report.new_coders = {c: _near(c, known) for c in report.coders if c not in known}
        report.interviewer = _on_interviewer(conn, report.coders, report.documents)
        report.codings = sum(1 for k in pairs if k[1])
        report.no_code = sum(1 for k in pairs if not k[1])
        project.log("import-codings", decided_by or default_coder(), file=str(path),
                    coders=sorted({k[2] for k in pairs}), rows=report.rows, codings=report.codings,
                    documents=report.documents)
    return report


def _near(name: str, known: list[str]) -> str:
    """A known coder a new name is probably a typo of ('tomm' for 'tom', 'Priya' for 'priya'), or ''."""
    same = [c for c in known if cb.same_name(c, name)] or get_close_matches(name, known, n=1, cutoff=0.75)
    return same[0] if same else ""


def _check_coder_option(coder: str | None) -> None:
    if coder is not None and not coder.strip():
        raise AutocodeError("--coder is empty", "give the coder's name, such as --coder alice")
    if coder == MACHINE:
        raise AutocodeError(f"'{MACHINE}' is the name under which autocode keeps its own suggestions",
                            "give the name of the person whose codings these are, such as --coder alice")


def _check_text(conn, doc: str, text: str, rec: dict, targets: list[int], row: int, path: Path) -> None:
    """A row's 'text', where the file has one, must be the words it codes: offsets taken from
    another version of the transcript would otherwise code the wrong utterances, silently."""
    said = cb.name_key(str(rec.get("text", "")))
    if not said or not targets:
        return
    if str(rec.get("utterance", "")).strip():
        here = " ".join(r[0] for r in conn.execute(f"SELECT text FROM utterances WHERE id IN ({','.join('?' * len(targets))})", targets))
    else:
        here = text[_int(rec["start"], "start", row, path):_int(rec["end"], "end", row, path)]
    here = cb.name_key(here)
    if said not in here and here not in said:
        raise AutocodeError(f"row {row}: its text ('{said[:60]}') is not the text at that place in transcript '{doc}' "
                            f"('{here[:60]}'), so the codings were made on another version of it",
                            "export the codings again from the version of the transcript in this project, or "
                            "add that version of the transcript; nothing was imported", str(path))


CSV_FIX = ("if the file's rows under {coder} are a mistake, fix its coder column (or give --coder NAME); if you mean "
           "to replace their work, run the command again with --replace; nothing was imported")


def _refuse_taking_most(conn, coder: str, documents: list[str], mine: dict, path: Path, fix: str = CSV_FIX) -> None:
    had = conn.execute(f"SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ? AND utterance IN "
                       f"(SELECT id FROM utterances WHERE document IN ({','.join('?' * len(documents))}))",
                       [coder, *documents]).fetchone()[0]
    keeps = len({k[0] for k in mine})
    if had >= 4 and keeps * 2 < had:
        raise AutocodeError(f"this file would replace {coder}'s codings of {had} utterances in these transcripts with "
                            f"codings of {keeps}", fix.format(coder=coder), str(path))


def _check_codes(book: cb.Codebook, frame, path: Path) -> None:
    """Every unknown code in one message, so the coder fixes the file once, not once per row."""
    unknown = [(i, v) for i, v in enumerate(frame["code"], start=2) if v.strip() and book.find_code(v) is None]
    if len(unknown) > 1:
        guess = lambda v: f" (did you mean '{g}'?)" if (g := book.nearest(v)) else ""  # noqa: E731
        rows: dict[str, list[int]] = {}
        for i, v in unknown:
            rows.setdefault(v.strip(), []).append(i)
        where = lambda r: f"row {r[0]}" if len(r) == 1 else f"rows {', '.join(map(str, r[:3]))}{' ...' if len(r) > 3 else ''}"  # noqa: E731
        shown = "; ".join(f"'{v}'{guess(v)} ({where(r)})" for v, r in rows.items())
        known = ", ".join(c.id for c in book.codes) or "the codebook is empty"
        raise AutocodeError(f"{len(unknown)} rows name {len(rows)} code(s) that are not in the codebook ({shown})",
                            f"use code ids or names from the codebook ({known}), or add the codes first "
                            "(autocode codebook import FILE.yaml, or accept a candidate)", str(path))


def _check_placed(frame, unmatched: list[int], length: dict[str, int], path: Path) -> None:
    """Refuse a file whose codings would replace a coder's work with nothing: rows whose offsets
    lie beyond the end of their transcript (coded on another version of it), or a file none of
    whose rows lands on an utterance. Nothing has been changed yet."""
    beyond = [i for i, rec in enumerate(frame.to_dict("records"), start=2)
              if not str(rec.get("utterance", "")).strip() and str(rec.get("end", "")).strip()
              and int(float(rec["end"])) > length[rec["document"].strip()]]
    if beyond:
        doc = frame.at[beyond[0] - 2, "document"].strip()
        rows = ", ".join(map(str, beyond[:10])) + ("..." if len(beyond) > 10 else "")
        raise AutocodeError(f"{len(beyond)} row(s) end beyond the end of their transcript ({'row' if len(beyond) == 1 else 'rows'} {rows}; "
                            f"'{doc}' has {length[doc]} characters), so they were coded on another version of it",
                            "export the codings again from the version of the transcript in this project, or "
                            "give an 'utterance' column instead of offsets; nothing was imported", str(path))
    if unmatched and len(unmatched) == len(frame):
        raise AutocodeError(f"none of the {len(frame)} rows covers an utterance of its transcript, so importing "
                            "would only remove the coder's existing codings of these documents",
                            "check that the offsets were taken from the same version of the transcripts; "
                            "nothing was imported", str(path))


def _confidence(value: str) -> float | None:
    try:
        return float(value) if str(value).strip() else None
    except ValueError:
        return None


def _drop_redundant_no_code(pairs: dict) -> dict:
    """An utterance with a real code is not also "no code"."""
    coded = {(uid, who) for (uid, code, who) in pairs if code}
    return {k: v for k, v in pairs.items() if k[1] or (k[0], k[2]) not in coded}


def replace_each(conn, coders: list[str], documents: list[str], pairs: dict, path: Path, guard: bool = True,
                 fix: str = CSV_FIX, add: bool = False, keep_reasons=lambda who: True) -> list[tuple[str, int, int]]:
    """Each coder's codings of these documents (with ``add``, of the utterances ``pairs`` codes)
    made the file's, each refused first, while ``guard``, if it takes away most of theirs.
    Returns (coder, codings they had, utterances now coded differently) for those who had any."""
    replaced = []
    for who in coders:
        mine = {k: v for k, v in pairs.items() if k[2] == who}
        if guard:
            _refuse_taking_most(conn, who, documents, mine, path, fix)
        had, differ = _replace(conn, who, documents, mine, {k[0] for k in mine} if add else None, keep_reasons(who))
        if had:
            replaced.append((who, had, differ))
    return replaced


def _replace(conn, coder: str, documents: list[str], pairs: dict, within: set[int] | None = None,
             keep_reasons: bool = True) -> tuple[int, int]:
    """Make the coder's codings of these documents the file's. Returns how many codings the
    coder had there, and how many utterances are now coded differently, so that replacing
    someone's work is never silent. A coding the file repeats keeps its id and date, and its
    confidence where the file gives none; its reason too, with ``keep_reasons`` (a file that says
    nothing of reasons), so adding the same file again changes nothing."""
    where = (f"coder = ? AND utterance IN (SELECT id FROM utterances"
             f" WHERE document IN ({','.join('?' * len(documents))}))")
    old = {(r[1], r[2]): r for r in conn.execute(f"SELECT id, utterance, code, confidence, reason FROM codings WHERE {where}",
                                                  [coder, *documents]) if within is None or r[1] in within}
    new = {(uid, code): values for (uid, code, _), values in pairs.items()}
    conn.executemany("DELETE FROM codings WHERE id = ?", [(r[0],) for key, r in old.items() if key not in new])
    conn.executemany("INSERT INTO codings (utterance, code, coder, confidence, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     [(uid, code, coder, conf, reason, now()) for (uid, code), (conf, reason) in new.items() if (uid, code) not in old])
    reason = "COALESCE(?, reason)" if keep_reasons else "?"
    conn.executemany(f"UPDATE codings SET confidence = COALESCE(?, confidence), reason = {reason} WHERE id = ?",
                     [(conf, why, old[key][0]) for key, (conf, why) in new.items()
                      if key in old and ((conf is not None and conf != old[key][3]) or why != old[key][4])])
    before, after = _by_utterance(old), _by_utterance(new)
    return len(old), sum(1 for uid in before.keys() | after.keys() if before.get(uid) != after.get(uid))


def _by_utterance(keys) -> dict[int, set]:
    out: dict[int, set] = {}
    for uid, code in keys:
        out.setdefault(uid, set()).add(code)
    return out


def _on_interviewer(conn, coders: list[str], documents: list[str]) -> int:
    """Utterances of the interviewer's that the import (these coders, these documents) gave a code."""
    return conn.execute(
        f"SELECT COUNT(DISTINCT c.utterance) FROM codings c JOIN utterances u ON u.id = c.utterance WHERE "
        f"u.is_interviewer = 1 AND c.code != '' AND c.coder IN ({','.join('?' * len(coders))}) AND "
        f"u.document IN ({','.join('?' * len(documents))})", [*coders, *documents]).fetchone()[0]


# -- reading ----------------------------------------------------------------------------------

def coders(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT coder FROM codings ORDER BY coder")]


def labels_by_utterance(conn, coder: str) -> dict[int, list[str]]:
    """Each coded utterance's codes ('' for "no code"), for one coder."""
    out: dict[int, list[str]] = {}
    for uid, code in conn.execute("SELECT utterance, code FROM codings WHERE coder = ? ORDER BY utterance, code", (coder,)):
        out.setdefault(uid, []).append(code)
    return out


def require_coder(conn, coder: str) -> None:
    if coder not in coders(conn):   # the machine is named only where asked for: it is no one to learn from
        people = [c for c in coders(conn) if c != MACHINE]
        near = _near(coder, coders(conn))   # coder names are case-sensitive: Alice is not alice
        fix = ("have the machine suggest codes first: autocode train, then autocode suggest" if coder == MACHINE else
               f"use one of: {', '.join(people) or '(none yet: import codings or accept candidates)'}")
        raise AutocodeError(f"coder '{coder}' has no codings in this project"
                            + (f" (did you mean '{near}'?)" if near else ""), fix)
