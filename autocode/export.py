"""Writing codings out, in the same CSV shape ``autocode import-codings`` reads.

Files are written to a temporary name and renamed into place, so an interrupted export
never leaves a half-written file where the researcher expects a whole one.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from . import codebook as cb
from .errors import AutocodeError

COLUMNS = ["document", "utterance", "start", "end", "speaker", "text", "code", "theme", "coder", "confidence"]


def coding_rows(conn, coder: str | None = None, documents: list[str] | None = None) -> list[dict]:
    """Every coding as a row, in document and utterance order."""
    themes = {c.id: c.theme for c in cb.load(conn).codes}
    sql = ("SELECT u.document, u.idx AS utterance, u.start, u.end, u.speaker, u.text, c.code, c.coder, c.confidence"
           " FROM codings c JOIN utterances u ON u.id = c.utterance WHERE 1 = 1")
    args: list = []
    if coder:
        sql += " AND c.coder = ?"
        args.append(coder)
    if documents:
        sql += f" AND u.document IN ({','.join('?' * len(documents))})"
        args.extend(documents)
    rows = conn.execute(sql + " ORDER BY u.document, u.idx, c.coder, c.code", args).fetchall()
    return [{**dict(r), "theme": themes.get(r["code"], ""), "confidence": "" if r["confidence"] is None else r["confidence"]}
            for r in rows]


def to_csv(rows: list[dict], columns: list[str] = COLUMNS) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_text(path: str | Path, text: str) -> Path:
    """Write atomically: a temporary file, then a rename."""
    path = Path(path)
    if path.is_dir():
        raise AutocodeError("is a folder", "give a file name such as codings.csv", str(path))
    if not path.parent.exists():
        raise AutocodeError("the folder does not exist", "create it first or choose another place", str(path.parent))
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(path)
    return path


def export_csv(conn, out: str | Path, coder: str | None = None) -> int:
    rows = coding_rows(conn, coder)
    write_text(out, to_csv(rows))
    return len(rows)
