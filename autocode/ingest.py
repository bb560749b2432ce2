"""Read transcripts into speaker turns with exact character offsets.

Every reader returns :class:`Transcript` objects whose ``text`` is the document text we
keep (decoded UTF-8, newlines normalised to ``\\n``) and whose turns are 0-based,
end-exclusive code-point spans into it, so ``text[turn.start:turn.end]`` is what was said.
"""
from __future__ import annotations

import hashlib
import csv
import html
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import AutocodeError, line_of

TEXT_FORMATS = {".txt", ".md", ".docx", ".vtt", ".srt"}
TABLE_FORMATS = {".csv", ".xlsx"}
SUPPORTED = TEXT_FORMATS | TABLE_FORMATS
INTERVIEWER_LABELS = {"interviewer", "i", "q", "int", "iv", "iwr", "researcher", "moderator", "facilitator"}
UNKNOWN_SPEAKER = "Participant"
NOT_SPOKEN = "(not spoken)"   # a heading, a date, a transcriber's note: kept, never coded
# Particulars a transcript notes above its speakers ("Date: 12 March", "Age: 34"): never a
# speaker's label. Above the first label they are the heading; further down, the words of
# whoever was speaking ("Time: we never had enough of it").
PARTICULARS = {"study", "project", "title", "date", "time", "location", "place", "site", "setting", "duration",
               "length", "recording", "file", "transcript", "topic", "language", "keywords", "attendees",
               "present", "start time", "end time", "age", "gender", "sex", "ethnicity", "occupation",
               "profession", "grade", "specialty"}
# A transcriber's notes between the speakers ("Note: shows a leaflet"): kept as not spoken.
NOTES = {"note", "notes", "transcriber", "transcriber's note", "transcribed by", "timestamp"}
# Words that start a sentence or head a table's column, never a speaker's label.
NOT_SPEAKERS = PARTICULARS | NOTES | {"overall", "summary", "speaker", "name", "who", "text"}
# Lines a transcription service adds that nobody said (Otter's).
_SERVICE_LINE = re.compile(r"^\s*(?:SUMMARY KEYWORDS|SPEAKERS|Transcribed by https?://\S+)\s*$")

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?"
_LABEL = re.compile(
    rf"^[ \t]*(?:\[{_TIME}\][ \t]*)?(?:\*\*|__)?"   # [00:01:02] Name: text, **Name:**
    r"(?P<name>[^\s:\[\]()*_][^:\[\]()*\n]{0,39}?)"
    rf"[ \t]*(?:\(\s*{_TIME}\s*\))?[ \t]*:(?:\*\*|__)?"  # Name (00:01:02): text
    r"[ \t]*(?P<text>.*)$"
)
# Otter and Word's own transcription put the speaker and a time on a line of their own
# ("Dr Berg  0:10"), the speech on the lines below.
_HEADER = re.compile(
    r"^[ \t]*(?P<name>[^\s:\[\]()*_\d][^:\[\]()*\n]{0,39}?)"
    rf"[ \t]+(?:\(\s*{_TIME}\s*\)|\[{_TIME}\]|{_TIME})[ \t]*$"
)


@dataclass
class Turn:
    speaker: str
    start: int
    end: int
    source_id: str | None = None


@dataclass
class Transcript:
    id: str
    source: str
    format: str
    text: str
    turns: list[Turn]
    sha256: str
    presegmented: bool = False
    warnings: list[str] = field(default_factory=list)


def is_interviewer(speaker: str, extra: tuple[str, ...] = ()) -> bool:
    """Interviewer labels, with or without a number ("Interviewer 2", "Int1"). A transcript's
    heading is not a participant's either, so it is left out of coding as the interviewer is."""
    name = re.sub(r"[\s_-]*\d+$", "", speaker.strip()).lower()
    return (name in INTERVIEWER_LABELS or speaker == NOT_SPOKEN
            or speaker.strip().lower() in {e.lower() for e in extra})


# -- decoding ---------------------------------------------------------------------------

UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")   # Notepad's "Unicode": its byte-order mark leaves no doubt


def decode(path: Path, data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), or UTF-16 with one; newlines normalised to \\n."""
    try:
        text = data.decode("utf-16") if data.startswith(UTF16_MARKS) else data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        excel = " (in Excel: Save As, 'CSV UTF-8 (Comma delimited)')" if path.suffix.lower() == ".csv" else ""
        raise AutocodeError(
            f"line {line} is not UTF-8 text (byte 0x{data[exc.start]:02X})",
            f"save the file as UTF-8{excel or ' (in Word or Notepad: Save As, Encoding: UTF-8)'} and run the command again",
            where=str(path),
        ) from None
    if "\x00" in text:   # UTF-16 without its byte-order mark decodes as UTF-8 with a NUL after each letter
        raise AutocodeError(f"line {text.count(chr(10), 0, text.index(chr(0))) + 1} holds NUL characters: the file is "
                            "UTF-16 without a byte-order mark, or not text at all",
                            "save the file as UTF-8 (in Word or Notepad: Save As, Encoding: UTF-8) and run the "
                            "command again", where=str(path))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_delimited(text: str):
    """A CSV table as text columns. Excel in much of Europe separates columns with ';' (and
    some tools with tabs): a header line with no comma but one of those is read that way."""
    import pandas as pd

    header = text.split("\n", 1)[0]
    sep = next((s for s in (";", "\t") if s in header and "," not in header), ",")
    names = [n.strip().lower() for n in next(csv.reader([header], delimiter=sep), [])]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:   # pandas would keep the first and rename the second 'text.1', which nothing reads
        raise ValueError(f"the header names column '{twice[0]}' twice; give each column its own name")
    csv.field_size_limit(2**31 - 1)   # a whole interview in one cell is a transcript, not an error
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    for row in reader:   # pandas would take a first row's extra cells for an index, silently
        if len(row) > len(names):
            raise ValueError(f"line {reader.line_num} has {len(row)} columns but the header has {len(names)}: a "
                             "comma inside a cell needs the cell in double quotes")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    except pd.errors.ParserError as exc:
        raise ValueError(_plain_parser_error(str(exc))) from None


def _plain_parser_error(said: str) -> str:
    """pandas' parser errors in a researcher's words (a row with too many cells is refused before)."""
    if "EOF inside string" in said or "EOF while" in said:
        row = re.search(r"row (\d+)", said)
        return (f"a double quote opens a cell that never closes{f' (near row {int(row[1]) + 1})' if row else ''}: "
                "check the quotes in that row")
    return said


def read_bytes(path: Path, inside: str = "transcript files") -> bytes:
    if not path.exists():
        raise AutocodeError("file not found", "check the name and folder, then run the command again", str(path))
    if path.is_dir():
        raise AutocodeError("is a folder, not a file", f"name the {inside} inside it", str(path))
    data = path.read_bytes()
    if not data.strip():
        raise AutocodeError("the file is empty", "check you exported the right file, then add it again", str(path))
    return data


# -- labelled text: .txt, .md, .docx ------------------------------------------------------

def parse_labelled(text: str) -> tuple[list[Turn], bool]:
    """Split ``Speaker: text`` lines into turns; unlabelled lines continue the current turn.

    A label counts only if it recurs in the file or names an interviewer, so a sentence like
    "What I said was: no" is not mistaken for a speaker. Returns (turns, found_labels).
    """
    lines = _lines_with_offsets(text)
    found = [_label(line) for line, _ in lines]
    labels = speaker_labels([f.name for f in found if f and f.speaks and not f.own_line]) | _own_line_labels(found)
    if not labels:
        return _paragraph_turns(text), False
    found = [f or (_bare_label(line, labels) if i == 0 or not lines[i - 1][0].strip() else None)
             for i, (f, (line, _)) in enumerate(zip(found, lines))]
    labels |= {f.name for f in found if f and f.own_line and _BARE_SPEAKER.fullmatch(f.name)}
    return _labelled_turns(text, lines, found, labels), True


# A speaker a transcription service could not tell ("Unknown Speaker", "Speaker 3"), on a line of its own.
_BARE_SPEAKER = re.compile(r"(?:Unknown )?Speaker(?: \d+)?")


def _bare_label(line: str, labels: set[str]) -> "Label | None":
    """A line holding only a speaker's name after a blank line, the speech on the lines below
    (as transcription services lay it out; inside a turn it is a name said): a file's own speaker
    ("Interviewee", who speaks as "Interviewee:" elsewhere) or one the service could not tell."""
    name = line.strip()
    if name and (name in labels or _BARE_SPEAKER.fullmatch(name)):
        return Label(name, len(line) + 1, True, True)
    return None


class Label(NamedTuple):
    name: str
    offset: int       # where the speech starts, from the start of the line
    speaks: bool      # whether speech follows the label
    own_line: bool    # a name-and-time line: the speech starts on the next line


def _label(line: str) -> Label | None:
    """The speaker label a line starts with, if any. A colon between digits ("9:03AM") is a
    clock's, not a label's."""
    if m := _HEADER.match(line):
        return Label(m.group("name").strip(), len(line) + 1, True, True)
    m = _LABEL.match(line)
    if m is None:
        return None
    colon = line.rfind(":", 0, m.start("text"))
    if 0 < colon < len(line) - 1 and line[colon - 1].isdigit() and line[colon + 1].isdigit():
        return None
    return Label(m.group("name").strip(), m.start("text"), bool(m.group("text").strip()), False)


def _own_line_labels(found: list[Label | None]) -> set[str]:
    """Name-and-time labels, in a file laid out that way: some name recurs (Otter repeats its
    speakers'). Then a name said once counts too, if it looks like a name (a focus group's quiet
    member); in a file of "Name: text" lines, "Lunch 12:30" inside an answer is no speaker."""
    names = [f.name for f in found if f and f.own_line]
    usable = {n for n in set(names) if any(ch.isalpha() for ch in n) and n.lower() not in NOT_SPEAKERS}
    if not any(names.count(n) >= 2 or is_interviewer(n) for n in usable):
        return set()
    return {n for n in usable if names.count(n) >= 2 or is_interviewer(n) or _looks_like_name(n)}


def speaker_labels(names: list[str]) -> set[str]:
    """Which candidate labels are speakers: they recur, name an interviewer, or look like a name.

    "Dr Okafor", "P3" and "Interviewer 2" pass; "What I said was" (used once) and "12" don't.
    """
    names = [n.strip() for n in names]
    counts = {n: names.count(n) for n in set(names)}
    return {n for n, c in counts.items() if any(ch.isalpha() for ch in n) and n.lower() not in NOT_SPEAKERS
            and (c >= 2 or is_interviewer(n) or _looks_like_name(n))}


def _looks_like_name(label: str) -> bool:
    words = label.split()
    return len(words) <= 3 and all(w[0].isupper() or w[0].isdigit() for w in words) and len(words[0]) > 1


def _lines_with_offsets(text: str) -> list[tuple[str, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((line, pos))
        pos += len(line) + 1
    return out


def _labelled_turns(text, lines, found, labels) -> list[Turn]:
    turns: list[Turn] = []
    for (line, start), label in zip(lines, found):
        if label and label.name in labels:
            turns.append(Turn(label.name, start + label.offset, start + len(line)))
        elif _is_note(line, label) or (line.strip() and not turns):   # before the first label: a title, a date
            turns.append(Turn(NOT_SPOKEN, start, start + len(line)))
        elif line.strip():
            turns[-1].end = start + len(line)
    turns = [_trim(text, t) for t in turns if text[t.start:t.end].strip()]
    return _words_before_first_label(text, turns)


def _is_note(line: str, label: Label | None) -> bool:
    return bool(label and not label.own_line and label.name.lower() in NOTES) or bool(_SERVICE_LINE.match(line))


def _words_before_first_label(text: str, turns: list[Turn]) -> list[Turn]:
    """Text before the first label is a heading only when it reads like one (a few short
    lines); paragraphs there are someone's words, kept for coding as before."""
    if turns and turns[0].speaker == NOT_SPOKEN:
        lines = [l for l in text[turns[0].start:turns[0].end].split("\n") if l.strip()]
        if len(lines) > 10 or any(len(l.split()) > 25 for l in lines):
            turns[0].speaker = UNKNOWN_SPEAKER
    return turns


def _paragraph_turns(text: str) -> list[Turn]:
    turns, pos = [], 0
    for block in re.split(r"(\n\s*\n)", text):
        if block.strip() and not re.fullmatch(r"\n\s*\n", block):
            turns.append(_trim(text, Turn(UNKNOWN_SPEAKER, pos, pos + len(block))))
        pos += len(block)
    return turns


def _trim(text: str, turn: Turn) -> Turn:
    chunk = text[turn.start:turn.end]
    turn.start += len(chunk) - len(chunk.lstrip())
    turn.end -= len(chunk) - len(chunk.rstrip())
    return turn


def read_labelled(path: Path, text: str, fmt: str) -> Transcript:
    turns, found = parse_labelled(text)
    if not turns:
        raise AutocodeError("the transcript has no text", "check you exported the right file", str(path))
    t = Transcript(path.stem, str(path), fmt, text, turns, _sha(text))
    if turns[0].speaker == NOT_SPOKEN:
        head = text[turns[0].start:turns[0].end].split("\n")
        first = head[0][:60] + (f"' and {len(head) - 1} more line(s)" if len(head) > 1 else "'")
        t.warnings.append(
            f"{path}: the text before the first speaker label ('{first}) is kept as the transcript's heading "
            "and not coded. If it is someone's words, put their label in front of it and add the file again.")
    if not found:
        t.warnings.append(
            f"{path}: no speaker labels found (like 'Interviewer:' or 'P1:'), so the whole file "
            "is taken as one participant's words. Add labels and add the file again if that is wrong."
        )
    return t


def read_docx(path: Path, data: bytes) -> Transcript:
    import docx  # python-docx

    if path.name.startswith("~$"):
        raise AutocodeError("is the lock file Word keeps while a document is open, not a transcript",
                            "close the document in Word, and add the document itself", str(path))
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:
        raise AutocodeError(
            "cannot be opened as a Word document", "open it in Word and save it again as .docx", str(path)
        ) from None
    text = "\n".join(_docx_lines(document)).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise AutocodeError("the document has no text", "check you chose the right file", str(path))
    return read_labelled(path, text, "docx")


def _docx_lines(document) -> list[str]:
    """Paragraphs and table rows in reading order: transcripts are often laid out as a table."""
    from docx.table import Table

    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_row_line(r) for r in block.rows)
        else:
            lines.append(block.text)
    return lines


def _row_line(row) -> str:
    """A table row as a labelled line: | Dr Khan | They help. | reads "Dr Khan: They help.". A
    column of times is left out, a header row (| Speaker | Text |) too, and a cell merged
    across columns counts once."""
    cells, seen = [], set()
    for cell in row.cells:
        text = " ".join(cell.text.split())
        if id(cell._tc) not in seen and not re.fullmatch(rf"[\[(]?{_TIME}[\])]?", text):
            cells.append(text)
        seen.add(id(cell._tc))
    filled = [c for c in cells if c]
    if not filled or all(c.lower() in NOT_SPEAKERS for c in filled):
        return ""
    if len(cells) >= 2 and cells[0] and len(cells[0]) <= 40 and ":" not in cells[0]:
        return f"{cells[0]}: {' '.join(c for c in cells[1:] if c)}".rstrip()
    return " ".join(filled)


# -- captions: .vtt, .srt -------------------------------------------------------------------

TIMESTAMP = r"\d[\d:.,]*"
# In .srt, the line after a cue number must hold a timing ("1", then "banana", is glued to the
# cue before); the srt library reads any digits, colons, dots and commas there. In .vtt every
# line with an arrow must be a timing as webvtt reads it (dot before the milliseconds): it skips
# a cue whose timing has a comma or a typo, or whose words hold an arrow, and its words are lost.
TIMING_LIKE = re.compile(rf"^\s*{TIMESTAMP}\s*-->")   # a line that means to be a timing
SRT_TIMING = re.compile(rf"^\s*{TIMESTAMP}\s*-->\s*{TIMESTAMP}")
VTT_STAMP = r"(\d+:)?\d{1,2}:\d{2}\.\d{1,3}"
VTT_TIMING = re.compile(rf"^\s*{VTT_STAMP}\s*-->\s*{VTT_STAMP}(\s|$)")


def _check_timings(path: Path, text: str, srt: bool) -> None:
    """Every cue timing must read as one, as the caption library reads it."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        after_number = (srt and line.strip().isdigit() and (i == 0 or not lines[i - 1].strip())
                        and i + 1 < len(lines) and lines[i + 1].strip())
        suspect, at = (lines[i + 1], i + 2) if after_number else (line, i + 1) if not srt and "-->" in line else (None, 0)
        if suspect is not None and not (SRT_TIMING if srt else VTT_TIMING).match(suspect):
            raise AutocodeError(f"line {at} should be a cue's timing, like 00:00:01{',' if srt else '.'}000 --> "
                                f"00:00:04{',' if srt else '.'}000, but reads '{suspect.strip()[:60]}'",
                                _timing_fix(path, suspect, srt), str(path))


def _timing_fix(path: Path, line: str, srt: bool) -> str:
    """What to do about a line that is not a timing: it depends on what it looks like."""
    if not srt and SRT_TIMING.match(line) and "," in line:
        return ("its times have commas, as .srt subtitles write them, where WebVTT writes a dot: change them to "
                f"00:00:05.000, or, if the file is .srt subtitles (numbered cues, no WEBVTT line), rename it "
                f"{path.stem}.srt; then add it again")
    if not srt and not TIMING_LIKE.match(line):
        return ("an arrow (-->) in a caption's words makes WebVTT drop the cue: write it in words, as 'to', "
                "and add the file again")
    return "correct the times on that line, or export the transcript again"

def read_vtt(path: Path, text: str) -> Transcript:
    import webvtt

    _check_timings(path, text, srt=False)
    try:
        captions = list(webvtt.from_buffer(io.StringIO(text)))
    except Exception as exc:
        header = "" if text.lstrip("\ufeff").startswith("WEBVTT") else \
            ": its first line must be WEBVTT, as in every caption file Zoom and Teams write (add that line at the top)"
        raise AutocodeError(
            f"is not a valid WebVTT caption file{header or f' ({exc})'}",
            "add WEBVTT as the first line, then add the file again" if header else
            "export the transcript again from Zoom or Teams as .vtt", str(path),
        ) from None
    return _from_cues(path, "vtt", [_voices(c.raw_text) for c in captions])


def read_srt(path: Path, text: str) -> Transcript:
    import srt

    _check_timings(path, text, srt=True)
    try:
        subtitles = list(srt.parse(text))
    except Exception as exc:
        at = getattr(exc, "actual_start", None)
        near = f" (line {line_of(text, at)})" if isinstance(at, int) else ""
        raise AutocodeError(
            f"is not a valid .srt subtitle file{near}",
            "export the transcript again as .srt, or save it as .txt", str(path),
        ) from None
    return _from_cues(path, "srt", [[(None, line) for line in s.content.split("\n")] for s in subtitles])


def _voices(raw: str) -> list[tuple[str | None, str]]:
    """A cue's lines with their voice: Teams marks each speaker <v Name>...</v>, and one cue can
    hold two of them."""
    parts = re.split(r"<v(?:\.[^\s>]*)?\s+([^>]*)>", raw)
    pieces = [(None, parts[0])] + [(parts[i].strip() or None, parts[i + 1]) for i in range(1, len(parts), 2)]
    return [(voice, line) for voice, text in pieces for line in text.split("\n")]


def _clean(text: str) -> str:
    """Caption text without its markup: tags such as <i> gone, escapes such as &amp; read."""
    return html.unescape(re.sub(r"</?[^>]+>", "", text)).strip()


def _from_cues(path: Path, fmt: str, cues: list[list[tuple[str | None, str]]]) -> Transcript:
    """Merge consecutive lines of one speaker into turns and build ``Speaker: text`` lines.

    A cue whose first line starts "Name:" (Zoom) is that speaker's; a later line of the cue
    starting with a speaker's label known from the cues' first lines hands over to them."""
    lines = [(i == 0, voice, _clean(line)) for cue in cues for i, (voice, line) in enumerate(cue)]
    found = [None if voice else _LABEL.match(text) for _, voice, text in lines]
    labels = speaker_labels([m.group("name") for (first, _, _), m in zip(lines, found) if m and first])
    merged: list[list[str]] = []
    for (first, voice, body), m in zip(lines, found):
        speaker = voice
        if m and m.group("name").strip() in labels:
            speaker, body = m.group("name").strip(), m.group("text").strip()
        if not body:
            continue
        if merged and (speaker is None or speaker == merged[-1][0]):
            merged[-1][1] += " " + body
        else:
            merged.append([speaker or UNKNOWN_SPEAKER, body])
    if not merged:
        raise AutocodeError("has no caption text", "check you exported the right file", str(path))
    return _from_rows(path, fmt, path.stem, [(s, b, None) for s, b in merged], presegmented=False)


def _from_rows(path, fmt, doc_id, rows, presegmented) -> Transcript:
    """Build document text as ``Speaker: text`` lines and point each turn at its text."""
    parts, turns, pos = [], [], 0
    for speaker, body, source_id in rows:
        prefix = f"{speaker}: "
        turns.append(Turn(speaker, pos + len(prefix), pos + len(prefix) + len(body), source_id))
        parts.append(prefix + body)
        pos += len(prefix) + len(body) + 1
    text = "\n".join(parts) + "\n"
    return Transcript(doc_id, str(path), fmt, text, turns, _sha(text), presegmented=presegmented)


# -- tables: .csv, .xlsx ---------------------------------------------------------------------

def read_table(path: Path, data: bytes) -> list[Transcript]:
    """One row per utterance; columns ``document`` and ``text``, optional ``speaker``, ``id``."""
    frame = _load_frame(path, data)
    sheets = _sheet_names(data) if path.suffix.lower() == ".xlsx" else []
    columns = {str(c).strip().lower(): c for c in frame.columns}
    _refuse_codings(columns, path)
    if "text" not in columns:
        first = f" of the first sheet, '{sheets[0]}', the one autocode reads" if len(sheets) > 1 else ""
        raise AutocodeError(
            f"the table has no 'text' column (columns found{first}: {', '.join(map(str, frame.columns)) or 'none'})",
            "rename the column holding what was said to 'text'"
            + (", or move that sheet first," if first else "") + " and add the file again", str(path),
        )
    docs: dict[str, list] = {}
    blank = []
    for i, row in enumerate(frame.to_dict("records")):
        text = " ".join(str(row[columns["text"]]).split())
        if not text:
            blank.append(i + 2)
            continue
        doc = str(row[columns["document"]]).strip() if "document" in columns else path.stem
        if not doc:
            raise AutocodeError(f"row {i + 2} has an empty 'document'", "fill it in and add the file again", str(path))
        speaker = str(row[columns["speaker"]]).strip() if "speaker" in columns else ""
        source_id = str(row[columns["id"]]).strip() if "id" in columns else str(i + 2)
        docs.setdefault(doc, []).append((speaker or UNKNOWN_SPEAKER, text, source_id))
    if not docs:
        raise AutocodeError("the table has no rows with text", "check the 'text' column is filled in", str(path))
    found = [_from_rows(path, path.suffix[1:], d, rows, presegmented=True) for d, rows in docs.items()]
    found[0].warnings.extend(_table_warnings(path, blank, sheets))
    return found


def _refuse_codings(columns: dict, path: Path) -> None:
    """A codings file (``autocode export`` writes one) added as a transcript would become a
    transcript of coded fragments, its codes ignored."""
    placed = "utterance" in columns or {"start", "end"} <= set(columns)
    if "code" in columns and placed and ("coder" in columns or "text" not in columns):
        raise AutocodeError("this looks like a codings file (it has 'code' and 'utterance' or 'start' columns), "
                            "not a transcript", f"import it with: autocode import-codings {path}", str(path))


def _table_warnings(path: Path, blank: list[int], sheets: list[str]) -> list[str]:
    notes = []
    if blank:
        shown = ", ".join(map(str, blank[:8])) + (" ..." if len(blank) > 8 else "")
        notes.append(f"{path}: {len(blank)} row(s) with an empty 'text' were left out (rows {shown}).")
    if len(sheets) > 1:
        notes.append(f"{path}: only the first sheet, '{sheets[0]}', was read; the workbook's other sheets "
                     f"({', '.join(sheets[1:])}) were not. Save each sheet as a workbook of its own to add it.")
    return notes


def _sheet_names(data: bytes) -> list[str]:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data), read_only=True).sheetnames


def _load_frame(path: Path, data: bytes):
    import pandas as pd

    try:
        if path.suffix.lower() == ".xlsx":
            if not data.startswith(b"PK"):   # an .xlsx file is a zip archive
                raise AutocodeError("is not an Excel workbook, though its name ends in .xlsx",
                                    "open it in Excel and save it again as an Excel Workbook (.xlsx) or CSV UTF-8", str(path))
            return pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False)
        return read_delimited(decode(path, data))
    except AutocodeError:
        raise
    except Exception as exc:
        raise AutocodeError(
            f"cannot be read as a table ({exc})", "open it in Excel and save it again as .csv or .xlsx", str(path)
        ) from None


# -- language ---------------------------------------------------------------------------------

# The commonest function words of languages researchers often interview in: enough to tell
# a French transcript from an English one without a language model.
STOPWORDS = {
    "English": "the and to of a in that is it you i was for on with this but have not be are they",
    "French": "le la les et de des un une que qui est pas je vous il elle on nous ce dans pour avec",
    "Spanish": "el la los las y de que en un una es no por con se para lo como pero su",
    "German": "der die das und ist nicht ich sie es ein eine zu mit den von auf für auch sich",
    "Italian": "il la che di e non un una per sono è con mi si ma ho anche come questo",
    "Portuguese": "o a os as e de que não um uma para com se em por mas eu você isso",
    "Dutch": "de het een en van ik je niet dat is op te zijn met voor maar ook",
}
_STOPWORD_SETS = {lang: set(words.split()) for lang, words in STOPWORDS.items()}
MULTILINGUAL_MODEL = "paraphrase-multilingual-MiniLM-L12-v2"


def detect_language(text: str) -> str:
    """The language whose function words are commonest in ``text``."""
    words = Counter(m.group() for m, _ in zip(re.finditer(r"[^\W\d_]+", text.lower()), range(5000)))
    if not words:
        return "English"
    scores = {lang: sum(words[w] for w in _STOPWORD_SETS[lang]) for lang in STOPWORDS}
    return max(scores, key=lambda lang: (scores[lang], lang == "English"))


def language_warning(t: Transcript) -> str | None:
    lang = detect_language(t.text)
    if lang == "English":
        return None
    return (f"{t.source}: this transcript looks {lang}, but the default embedding model understands English only. "
            f"For {lang} transcripts, set 'model' under [embedding] in autocode.toml to a multilingual "
            f"sentence-transformers model saved on this computer, such as {MULTILINGUAL_MODEL}.")


# -- entry point -----------------------------------------------------------------------------

def read_transcripts(path: str | Path) -> list[Transcript]:
    """Read one file into transcripts (a table can hold several), warning about other languages."""
    found = _read(path)
    for t in found:
        if warning := language_warning(t):
            t.warnings.append(warning)
    return found


def _read(path: str | Path) -> list[Transcript]:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".qdc":
        raise AutocodeError("is a REFI-QDA codebook, not a transcript", f"import it with: autocode codebook import {path}",
                            str(path))
    if suffix == ".qdpx":   # 'add' reads projects; commands that read transcripts alone do not
        raise AutocodeError("is a REFI-QDA project, which only 'autocode add' reads", f"add it first (autocode add "
                            f"{path}), then name its transcripts with --documents", str(path))
    if suffix not in SUPPORTED:
        raise AutocodeError(
            f"autocode cannot read '{suffix or 'no extension'}' files",
            f"save it as one of: {', '.join(sorted(SUPPORTED))}", str(path),
        )
    data = read_bytes(path)
    if suffix in TABLE_FORMATS:
        return read_table(path, data)
    if suffix == ".docx":
        return [read_docx(path, data)]
    text = decode(path, data)
    if not text.strip():
        raise AutocodeError("the file is empty", "check you exported the right file, then add it again", str(path))
    reader = {".vtt": read_vtt, ".srt": read_srt}.get(suffix)
    return [reader(path, text) if reader else read_labelled(path, text, suffix[1:])]


def unreadable_in(paths: list[str | Path]) -> list[Path]:
    """Files inside the folders given that autocode cannot read (hidden files aside), so they
    are named rather than passed over in silence."""
    return [f for p in map(Path, paths) if p.is_dir() for f in _listed(p)
            if f.is_file() and f.suffix.lower() not in SUPPORTED]


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files as given, and the supported files inside any folder given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(f for f in _listed(p) if f.suffix.lower() in SUPPORTED)
        else:
            out.append(p)
    return out


def _listed(folder: Path) -> list[Path]:
    """A folder's entries, less hidden files and the lock files Word keeps beside open documents."""
    return sorted(f for f in folder.iterdir() if not f.name.startswith((".", "~$")))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = ["Transcript", "Turn", "read_transcripts", "expand_paths", "unreadable_in", "is_interviewer", "line_of"]
