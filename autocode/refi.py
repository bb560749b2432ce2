"""REFI-QDA (QDA-XML 1.0) projects and codebooks: work that continues in NVivo, ATLAS.ti, MAXQDA.

Export writes a ``.qdpx`` (a ZIP of ``project.qde`` and ``sources/``) or a ``.qdc`` codebook:
themes become non-codable parent codes with their codes nested under them, every coder (the
machine too) is a ``User``, and each coded utterance is a ``PlainTextSelection`` whose name is
the selected text. GUIDs are uuid5 of stable ids, so exporting twice gives identical files. Reading
these files back is ``refi_import``'s.
"""
from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

from . import codebook as cb
from .errors import AutocodeError
from .export import write_bytes

NS, NS_CODEBOOK = "urn:QDA-XML:project:1.0", "urn:QDA-XML:codebook:1.0"
GUID_ROOT = uuid.UUID("6f1c6c1e-2b3a-5a57-9c1d-8a1f0a7d0c01")
NO_CODE_NAME = "No code (looked at, nothing applies)"
# Suggestions a coder accepted in bulk, unread, go out under a user of their own, so that in
# NVivo they are not taken for the coder's reading, and come back marked (refi_import).
UNREAD_USER = " (suggestions accepted unread)"
WHO = "coder || CASE WHEN reason = ? THEN ? ELSE '' END"   # the user a coding goes out under (UNREAD_USER)
# Characters XML 1.0 cannot hold, even escaped: a transcript's stray form feed would make a file no tool opens.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def guid(*parts: object) -> str:
    return str(uuid.uuid5(GUID_ROOT, "/".join(map(str, parts))))


def _el(parent, tag: str, ns: str = NS, **attrs) -> ET.Element:
    attrs = {k: NOT_XML.sub("", str(v)) for k, v in attrs.items() if v is not None}
    return ET.SubElement(parent, f"{{{ns}}}{tag}", attrs) if parent is not None else ET.Element(f"{{{ns}}}{tag}", attrs)


def _xml_bytes(root: ET.Element, ns: str) -> bytes:
    ET.register_namespace("", ns)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


# -- export ------------------------------------------------------------------------------------

def _description(text: str, item_id: str, name: str) -> str:
    """Definitions carry the autocode id when the name would not give it back."""
    return NOT_XML.sub("", text) + ("" if cb.slug(name) == item_id else f"\n\n[autocode id: {item_id}]")


def _codes(parent, book: cb.Codebook, ns: str, no_code: bool) -> None:
    codes = _el(parent, "Codes", ns)
    for t in book.themes:
        theme = _el(codes, "Code", ns, guid=guid("theme", t.id), name=t.name, isCodable="false")
        _el(theme, "Description", ns).text = _description(t.definition, t.id, t.name)
        for c in t.codes:
            code = _el(theme, "Code", ns, guid=guid("code", c.id), name=c.name, isCodable="true")
            _el(code, "Description", ns).text = _description(c.definition, c.id, c.name)
    if no_code:
        _el(codes, "Code", ns, guid=guid("code", ""), name=NO_CODE_NAME, isCodable="true")


def codebook_xml(conn) -> bytes:
    book = cb.load(conn)
    if not book.themes:   # the schema asks for at least one code
        raise AutocodeError("the codebook is empty, so there is nothing to write",
                            "accept candidate codes or import a codebook first (autocode codebook import FILE)")
    root = _el(None, "CodeBook", NS_CODEBOOK, origin="autocode")
    _codes(root, book, NS_CODEBOOK, no_code=False)
    return _xml_bytes(root, NS_CODEBOOK)


def project_xml(conn, name: str, coder: str | None = None) -> tuple[bytes, dict[str, str]]:
    """project.qde and the source texts it points to (path inside the ZIP -> text); with
    ``coder``, only that coder's codings. Empty parts are left out, as the schema asks."""
    from .confirm import UNREAD

    mine = "WHERE coder = ?" if coder else ""
    coders = [r[0] for r in conn.execute(f"SELECT DISTINCT {WHO} AS who FROM codings {mine} ORDER BY who",
                                         [UNREAD, UNREAD_USER, *[coder] * bool(coder)])]
    no_code = conn.execute(f"SELECT 1 FROM codings WHERE code = '' {'AND coder = ?' if coder else ''} LIMIT 1",
                           [coder] * bool(coder)).fetchone() is not None
    root = _el(None, "Project", name=name, origin="autocode")
    if coders:
        users = _el(root, "Users")
        for who in coders:
            _el(users, "User", guid=guid("user", who), name=who)
    book = cb.load(conn)
    if book.themes or no_code:
        _codes(_el(root, "CodeBook"), book, NS, no_code)
    return _with_sources(conn, root, coder), _source_files(conn)


def _with_sources(conn, root: ET.Element, coder: str | None) -> bytes:
    from .confirm import UNREAD

    documents = conn.execute("SELECT id, sha256 FROM documents ORDER BY id").fetchall()
    sources = _el(root, "Sources") if documents else None
    for doc, sha in documents:
        key = _source_key(doc, sha)
        src = _el(sources, "TextSource", guid=guid("source", key), name=doc, plainTextPath=f"internal://{guid('source', key)}.txt")
        rows = conn.execute(f"SELECT u.idx, u.start, u.end, u.text, {WHO} AS who, c.code FROM codings c JOIN "
                            "utterances u ON u.id = c.utterance WHERE u.document = ?"
                            f" {'AND c.coder = ?' if coder else ''} ORDER BY u.idx, who, c.code",
                            (UNREAD, UNREAD_USER, doc, *[coder] * bool(coder))).fetchall()
        _selections(src, key, rows)
    return _xml_bytes(root, NS)


def _source_key(doc: str, sha: str) -> str:
    """What a source's GUIDs are made from: its name and its text, so that two studies' "D01"
    never share a GUID when both are brought into one NVivo project, and the same project
    exported twice gives the same file."""
    return f"{doc}/{sha[:16]}"


def _selections(src, doc: str, rows) -> None:
    groups: dict[tuple, list] = {}
    for idx, start, end, text, coder, code in rows:
        groups.setdefault((idx, start, end, text, coder), []).append(code)
    for (idx, start, end, text, coder), codes in groups.items():
        user = guid("user", coder)
        sel = _el(src, "PlainTextSelection", guid=guid("selection", doc, idx, coder), name=text,
                  startPosition=start, endPosition=end, creatingUser=user)
        for code in codes:
            coding = _el(sel, "Coding", guid=guid("coding", doc, idx, coder, code), creatingUser=user)
            _el(coding, "CodeRef", targetGUID=guid("code", code))


def _source_files(conn) -> dict[str, str]:
    return {f"sources/{guid('source', _source_key(doc, sha))}.txt": text
            for doc, sha, text in conn.execute("SELECT id, sha256, text FROM documents ORDER BY id")}


def export_qdpx(conn, out: str | Path, name: str = "autocode project", coder: str | None = None) -> Path:
    """Write a .qdpx atomically; the same project gives byte-identical files."""
    qde, sources = project_xml(conn, name, coder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in [("project.qde", qde), *((p, t.encode("utf-8")) for p, t in sources.items())]:
            z.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return write_bytes(out, buf.getvalue())


def export_qdc(conn, out: str | Path) -> Path:
    return write_bytes(out, codebook_xml(conn))
