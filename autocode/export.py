"""Writing codings out, in the same CSV shape ``autocode import-codings`` reads.

Files are written to a temporary name and renamed into place, so an interrupted export
never leaves a half-written file where the researcher expects a whole one.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from . import codebook as cb
from .codings import MACHINE
from .errors import AutocodeError

COLUMNS = ["document", "utterance", "start", "end", "speaker", "text", "code", "code name", "theme", "theme name",
           "coder", "confidence", "reason"]
# A cell Excel would run as a formula: an utterance such as "=HYPERLINK(...)" or "-1 for me".
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBERS = re.compile(r"-?\d+(\.\d+)?(\u2013-?\d+(\.\d+)?)?")   # -0.5, or an interval -0.04–1.00


def coding_rows(conn, coder: str | None = None, documents: list[str] | None = None) -> list[dict]:
    """Every coding as a row, in document and utterance order. Ids are what a re-import matches
    on; the names beside them are what a reader of the spreadsheet understands."""
    book = cb.load(conn)
    sql = ("SELECT u.document, u.idx AS utterance, u.start, u.end, u.speaker, u.text, c.code, c.coder, c.confidence,"
           " COALESCE(c.reason, '') AS reason, u.is_interviewer AS interviewer"
           " FROM codings c JOIN utterances u ON u.id = c.utterance WHERE 1 = 1")
    args: list = []
    if coder:
        sql += " AND c.coder = ?"
        args.append(coder)
    if documents:
        sql += f" AND u.document IN ({','.join('?' * len(documents))})"
        args.extend(documents)
    rows = conn.execute(sql + " ORDER BY u.document, u.idx, c.coder, c.code", args).fetchall()
    return [{**dict(r), **book.labels(r["code"]), "confidence": "" if r["confidence"] is None else r["confidence"]}
            for r in rows]


def to_csv(rows: list[dict], columns: list[str] = COLUMNS) -> str:
    """CSV whose text cells Excel shows as text: one starting like a formula gets an apostrophe
    in front (``codings.read_csv`` takes it off again)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: inert(v) for k, v in r.items()} for r in rows)
    return buf.getvalue()


def inert(value):
    """The value, or an apostrophe and the value when Excel would run it; a number or an
    interval such as "-0.04–1.00" is left as it is."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START) or NUMBERS.fullmatch(value):
        return value
    return "'" + value


def write_csv(path: str | Path, rows: list[dict], columns: list[str] = COLUMNS) -> Path:
    """A CSV that opens right in Excel: the byte-order mark tells it the file is UTF-8 (without
    it, Excel on Windows shows "Ça" as "Ã‡a" and "0.82–0.91" as "0.82â€“0.91")."""
    return write_text(path, "\ufeff" + to_csv(rows, columns))


def write_file(path: str | Path, save) -> Path:
    """Write atomically: ``save(tmp)`` writes a temporary file, which is then renamed into place.

    An interrupted or failed save leaves neither a half-written file nor the temporary one. A
    link is written through to the file it points to, never replaced by a file of its own.
    """
    path = check_writable(path)
    path = path.resolve() if path.is_symlink() else path
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise AutocodeError(f"could not write the file ({exc.strerror or exc})",
                            "choose a folder you can write to, with room left on the disk", str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_writable(path: str | Path, suffixes: tuple[str, ...] = (), what: str = "") -> Path:
    """Whether a file could be written there, asked before any work is done, so that a command
    never changes the project and then fails for want of a place to put its output."""
    path = Path(path)
    if path.is_dir():
        name = f"output{suffixes[0]}" if suffixes else f"codings{path.suffix or '.csv'}"
        raise AutocodeError("is a folder", f"give a file name inside it, such as {path / name}", str(path))
    if suffixes and path.suffix.lower() not in suffixes:
        raise AutocodeError(f"this writes {what}, but the name {path.name} says otherwise",
                            f"name the file {path.stem}{suffixes[0]}", str(path))
    if path.exists() and not path.is_file() and not path.is_symlink():
        raise AutocodeError("is not an ordinary file", "choose another name in a folder of your own", str(path))
    folder = path.parent
    if not folder.exists():
        raise AutocodeError("the folder does not exist", "create it first or choose another place", str(folder))
    if not folder.is_dir():
        raise AutocodeError("is a file, not a folder", "choose a folder to write in", str(folder))
    if not os.access(folder, os.W_OK) or not _can_create_in(folder):
        raise AutocodeError("you may not write in this folder", "choose a folder of your own, such as your Documents", str(folder))
    return path


def _can_create_in(folder: Path) -> bool:
    """A file made and removed there: permissions alone miss read-only disks and system folders."""
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".autocode-check-"):
            return True
    except OSError:
        return False


def write_text(path: str | Path, text: str) -> Path:
    return write_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_file(path, lambda tmp: tmp.write_bytes(data))


def in_memory(save) -> bytes:
    """What a library's ``save`` writes, as bytes: a full disk then fails in one plain write,
    not inside the library's zip file (which left a traceback on its way out)."""
    buf = io.BytesIO()
    save(buf)
    return buf.getvalue()



def export_csv(conn, out: str | Path, coder: str | None = None) -> int:
    """Every coding, the machine's too (the file is what ``import-codings`` and ``compare`` read);
    a coder named who has none is a mistake, not an empty file. ``reason`` keeps the machine's
    reasons, and marks the suggestions a coder accepted unread, so they stay marked."""
    rows = coding_rows(conn, coder)
    if not rows:
        raise nothing_to_export(conn, out, coder)
    write_csv(out, rows)
    return len(rows)


# -- Excel workbook and Word quote bank ------------------------------------------------------------

QUOTES_PER_CODE = 5
QUOTE_WORDS = (15, 60)
QUOTE_COLUMNS = ["code", "participant", "document", "text", "coder", "confidence"]
CODEBOOK_COLUMNS = ["theme id", "theme name", "code id", "code name", "definition", "codings"]
RESERVED_SHEETS = ("Codings", "Codebook", "History")  # ours, and the one name Excel keeps for itself
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # Word line breaks (\x0b) and the like


class Quote(NamedTuple):
    code: str
    document: str
    idx: int
    speaker: str
    text: str
    coders: int  # how many of the exported coders gave this utterance this code

    @property
    def voice(self) -> tuple[str, str]:
        return self.document, self.speaker

    @property
    def fits(self) -> bool:
        return QUOTE_WORDS[0] <= len(self.text.split()) <= QUOTE_WORDS[1]


def export_rows(conn, coder: str | None = None) -> list[dict]:
    """Codings to export: the named coder's, else every person's. The machine's suggestions are
    not findings until someone confirms them, so they come only when asked for by name."""
    rows = coding_rows(conn, coder)
    return rows if coder else [r for r in rows if r["coder"] != MACHINE]


def nothing_to_export(conn, out, coder: str | None, what: str = "codings") -> AutocodeError:
    """The error for an empty export, with the fix that fits why it is empty."""
    known = [r[0] for r in conn.execute("SELECT DISTINCT coder FROM codings ORDER BY coder")]
    if coder and coder not in known and known:
        fix = f"use one of these coders: {', '.join(known)}"
    elif not coder and known == [MACHINE]:
        fix = "only the machine has coded so far: add --coder machine to export its suggestions"
    else:
        fix = "import codings first with 'autocode import-codings FILE --coder NAME', or accept candidates"
    by = f" by coder '{coder}'" if coder else ""
    return AutocodeError(f"nothing to export: there are no {what}{by} in this project", fix, str(out))


def xml_safe(text: str) -> str:
    """Text without the control characters Excel and Word files cannot hold (both libraries refuse them)."""
    return _XML_UNSAFE.sub(" ", text)


# -- Excel ---------------------------------------------------------------------------------------

def export_xlsx(conn, out: str | Path, coder: str | None = None) -> Path:
    """Codings, each theme's quotes and the codebook in one workbook, for researchers who sort
    and filter in Excel rather than read CSV."""
    from openpyxl import Workbook

    rows = export_rows(conn, coder)
    if not rows:
        raise nothing_to_export(conn, out, coder)
    book, wb = cb.load(conn), Workbook()
    fill_sheet(wb.active, "Codings", COLUMNS, [[r[c] for c in COLUMNS] for r in rows], wrap={"text"})
    for theme, title in zip(book.themes, sheet_titles([t.name for t in book.themes])):
        fill_sheet(wb.create_sheet(), title, QUOTE_COLUMNS, theme_quote_rows(theme, rows), wrap={"text"})
    fill_sheet(wb.create_sheet(), "Codebook", CODEBOOK_COLUMNS, codebook_rows(book, rows), wrap={"definition"})
    return write_bytes(out, in_memory(wb.save))


def theme_quote_rows(theme: cb.Theme, rows: list[dict]) -> list[list]:
    """A theme's codings in codebook order of its codes, then in transcript order: participants'
    words only (the sheet's column says participant), and never a suggestion accepted unread."""
    from .confirm import UNREAD

    order = {c.id: i for i, c in enumerate(theme.codes)}
    names = {c.id: c.name for c in theme.codes}
    mine = sorted((r for r in rows if r["code"] in order and not r.get("interviewer") and r.get("reason") != UNREAD),
                  key=lambda r: order[r["code"]])
    return [[names[r["code"]], r["speaker"], r["document"], r["text"], r["coder"], r["confidence"]] for r in mine]


def codebook_rows(book: cb.Codebook, rows: list[dict]) -> list[list]:
    """Every code, with how often it was used in this export (so zero shows an unused code)."""
    counts = Counter(r["code"] for r in rows)
    return [[t.id, t.name, c.id, c.name, c.definition, counts[c.id]] for t in book.themes for c in t.codes]


def sheet_titles(names: list[str], taken=RESERVED_SHEETS) -> list[str]:
    """Valid, unique sheet titles: Excel refuses titles over 31 characters, with []:*?/\\ in
    them, starting or ending with an apostrophe, or equal to another one ignoring case."""
    used, titles = {t.lower() for t in taken}, []
    for name in names:
        base = _clean_title(name) or "Theme"
        title, n = base, 1
        while title.lower() in used:
            n += 1
            title = f"{base[:31 - len(f' ({n})')].rstrip()} ({n})"
        used.add(title.lower())
        titles.append(title)
    return titles


def _clean_title(name: str) -> str:
    text = re.sub(r"[\[\]:*?/\\]", "-", " ".join(xml_safe(name).split())).strip("' ")
    return text[:31].rstrip("' ")


def fill_sheet(ws, title: str, header: list[str], rows: list[list], wrap=frozenset()) -> None:
    """One table per sheet: a bold, frozen, filterable header; long text wraps in a wide column."""
    from openpyxl.styles import Font

    ws.title = title
    for j, name in enumerate(header, start=1):
        ws.cell(1, j, name).font = Font(bold=True)
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            _text_cell(ws.cell(i, j), value, wrap=header[j - 1] in wrap)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for j, name in enumerate(header, start=1):
        _fit_width(ws, j, [name, *(r[j - 1] for r in rows)], wide=name in wrap)


def _text_cell(cell, value, wrap: bool) -> None:
    """A value kept as written: empty stays empty, and text starting with '=' stays text
    rather than becoming a formula Excel would run."""
    from openpyxl.styles import Alignment

    cell.value = None if value == "" else xml_safe(value) if isinstance(value, str) else value
    if cell.data_type == "f":
        cell.data_type = "s"
    cell.alignment = Alignment(wrap_text=wrap, vertical="top")


def _fit_width(ws, column: int, values: list, wide: bool) -> None:
    from openpyxl.utils import get_column_letter

    longest = max(len(str(v)) for v in values)
    ws.column_dimensions[get_column_letter(column)].width = 80 if wide else min(longest + 2, 40)


# -- Word ----------------------------------------------------------------------------------------

def _citation_note(conn) -> str:
    """How the quotes are cited, as :func:`autocode.corpus.participant_numbers` chose for these ids."""
    from .corpus import document_ids, participant_numbers

    ids = document_ids(conn)
    number = participant_numbers(ids)
    how = (f"by its transcript's number, as ({number[ids[0]]}) for {ids[0]}" if any(n != d for d, n in number.items())
           else "by its transcript's id, as (" + (ids[0] if ids else "P01") + ")")
    return (f"Each quote is cited {how}; an 'a' or 'b' after it tells apart two participants of one "
            "transcript, such as a focus group.")


def export_docx(conn, out: str | Path, coder: str | None = None) -> Path:
    """A quote bank grouped by theme and code, ready to paste into a paper: a few quotes per
    code from as many participants as possible, each cited as papers cite participants."""
    from docx import Document

    quotes = code_quotes(conn, coder)
    if not quotes:
        raise nothing_to_export(conn, out, coder, "coded participant utterances")
    from .report import participants   # (7), or (7a) and (7b) for a focus group's two voices

    labels = {(p["document"], p["speaker"]): p["label"] for p in participants(conn)}
    doc = Document()
    doc.add_heading("Quote bank", 0)
    doc.add_paragraph(f"Coded by {', '.join(_coders(conn, coder))}. Up to {QUOTES_PER_CODE} quotes per code. "
                      + _citation_note(conn))
    quoted: Counter = Counter()  # voices quoted so far, so the bank does not lean on a few participants
    for theme in cb.load(conn).themes:
        _heading(doc, theme.name, theme.definition, 1)
        for code in theme.codes:
            _heading(doc, code.name, code.definition, 2)
            picked = pick_quotes(quotes.get(code.id, []), quoted=quoted)
            quoted.update(q.voice for q in picked)
            _quotes(doc, picked, labels)
    return write_bytes(out, in_memory(doc.save))


def code_quotes(conn, coder: str | None = None) -> dict[str, list[Quote]]:
    """code id -> each participant utterance given that code (once, however many coders gave it);
    never a suggestion accepted unread, which is the machine's reading, not the coder's."""
    from .confirm import UNREAD

    who, arg = ("c.coder = ?", coder) if coder else ("c.coder != ?", MACHINE)
    rows = conn.execute(
        "SELECT c.code, u.document, u.idx, u.speaker, u.text, COUNT(DISTINCT c.coder) FROM codings c"
        f" JOIN utterances u ON u.id = c.utterance WHERE c.code != '' AND u.is_interviewer = 0 AND {who}"
        " AND COALESCE(c.reason, '') != ? GROUP BY c.code, u.id ORDER BY u.document, u.idx", (arg, UNREAD))
    quotes: dict[str, list[Quote]] = {}
    for r in rows:
        quotes.setdefault(r[0], []).append(Quote(*r))
    return quotes


def pick_quotes(quotes: list[Quote], n: int = QUOTES_PER_CODE, quoted: Counter | None = None) -> list[Quote]:
    """Up to ``n`` quotes, in transcript order. Quotes of 15-60 words (whole thoughts, short
    enough to quote in full) come first, spread over as many participants as possible; among
    equals, quotes more coders agreed on, then voices ``quoted`` less often elsewhere, come first."""
    quoted = quoted or Counter()
    ranked = sorted(quotes, key=lambda q: (-q.coders, quoted[q.voice], q.document, q.idx))
    chosen: dict[tuple, Quote] = {}
    voices: set = set()
    for fits in (True, False):
        for new_voices_only in (True, False):
            for q in ranked:
                if (len(chosen) < n and q.fits == fits and (q.document, q.idx) not in chosen
                        and not (new_voices_only and q.voice in voices)):
                    chosen[(q.document, q.idx)] = q
                    voices.add(q.voice)
    return sorted(chosen.values(), key=lambda q: (q.document, q.idx))


def _coders(conn, coder: str | None) -> list[str]:
    if coder:
        return [coder]
    return [r[0] for r in conn.execute("SELECT DISTINCT coder FROM codings WHERE coder != ? ORDER BY coder", (MACHINE,))]


def _heading(doc, name: str, definition: str, level: int) -> None:
    doc.add_heading(xml_safe(name), level)
    if definition:
        doc.add_paragraph().add_run(xml_safe(definition)).italic = True


def _quotes(doc, quotes: list[Quote], labels: dict[tuple[str, str], str]) -> None:
    if not quotes:
        doc.add_paragraph().add_run("No quotes coded.").italic = True
    for q in quotes:
        doc.add_paragraph(f"\u201c{quotation(xml_safe(q.text))}\u201d ({labels.get(q.voice, q.document)})")


def quotation(text: str) -> str:
    """A quote as papers print it. Long turns are cut into utterances at a comma, semicolon,
    colon or dash (``segment._split_long``); an utterance that stops at one is marked with an
    ellipsis, so that it is not read as the participant's whole sentence."""
    text = " ".join(text.split())
    if re.search(r"(?:[,;:]|\s[-\u2013\u2014]+)$", text):
        text = text.rstrip(",;:\u2014\u2013- ") + "\u2026"
    return text
