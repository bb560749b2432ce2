"""REFI-QDA (QDA-XML 1.0) projects and codebooks: work that continues in NVivo, ATLAS.ti, MAXQDA.

Export writes a ``.qdpx`` (a ZIP of ``project.qde`` and ``sources/``) or a ``.qdc`` codebook:
themes become non-codable parent codes with their codes nested under them, every coder (the
machine too) is a ``User``, and each coded utterance is a ``PlainTextSelection`` whose name is
the selected text. GUIDs are uuid5 of stable ids, so exporting twice gives identical files.

Import reads what those tools write. Files are parsed with defusedxml (no DTDs, no entity
expansion), ZIP members are read into memory and never written to disk, and sizes are bounded.
A selection codes the utterances it covers, as codings CSV spans do.
"""
from __future__ import annotations

import io
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from . import codebook as cb
from .errors import AutocodeError
from .export import write_bytes

NS, NS_CODEBOOK = "urn:QDA-XML:project:1.0", "urn:QDA-XML:codebook:1.0"
GUID_ROOT = uuid.UUID("6f1c6c1e-2b3a-5a57-9c1d-8a1f0a7d0c01")
NO_CODE_NAME = "No code (looked at, nothing applies)"
MAX_TOTAL_BYTES, MAX_MEMBERS, MAX_RATIO = 500_000_000, 10_000, 200
ID_NOTE = re.compile(r"\s*\[autocode id: ([^\]]+)\]\s*$")


def guid(*parts: object) -> str:
    return str(uuid.uuid5(GUID_ROOT, "/".join(map(str, parts))))


def _el(parent, tag: str, ns: str = NS, **attrs) -> ET.Element:
    attrs = {k: str(v) for k, v in attrs.items() if v is not None}
    return ET.SubElement(parent, f"{{{ns}}}{tag}", attrs) if parent is not None else ET.Element(f"{{{ns}}}{tag}", attrs)


def _xml_bytes(root: ET.Element, ns: str) -> bytes:
    ET.register_namespace("", ns)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")


# -- export ------------------------------------------------------------------------------------

def _description(text: str, item_id: str, name: str) -> str:
    """Definitions carry the autocode id when the name would not give it back."""
    return text + ("" if cb.slug(name) == item_id else f"\n\n[autocode id: {item_id}]")


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
    root = _el(None, "CodeBook", NS_CODEBOOK, origin="autocode")
    _codes(root, cb.load(conn), NS_CODEBOOK, no_code=False)
    return _xml_bytes(root, NS_CODEBOOK)


def project_xml(conn, name: str) -> tuple[bytes, dict[str, str]]:
    """project.qde and the source texts it points to (path inside the ZIP -> text)."""
    coders = [r[0] for r in conn.execute("SELECT DISTINCT coder FROM codings ORDER BY coder")]
    no_code = conn.execute("SELECT 1 FROM codings WHERE code = '' LIMIT 1").fetchone() is not None
    root = _el(None, "Project", name=name, origin="autocode")
    users = _el(root, "Users")
    for who in coders or ["autocode"]:
        _el(users, "User", guid=guid("user", who), name=who)
    _codes(_el(root, "CodeBook"), cb.load(conn), NS, no_code)
    return _with_sources(conn, root), _source_files(conn)


def _with_sources(conn, root: ET.Element) -> bytes:
    sources = _el(root, "Sources")
    for doc, in conn.execute("SELECT id FROM documents ORDER BY id"):
        src = _el(sources, "TextSource", guid=guid("source", doc), name=doc, plainTextPath=f"internal://{guid('source', doc)}.txt")
        rows = conn.execute("SELECT u.idx, u.start, u.end, u.text, c.coder, c.code FROM codings c JOIN utterances u"
                            " ON u.id = c.utterance WHERE u.document = ? ORDER BY u.idx, c.coder, c.code", (doc,)).fetchall()
        _selections(src, doc, rows)
    return _xml_bytes(root, NS)


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
    return {f"sources/{guid('source', doc)}.txt": text for doc, text in conn.execute("SELECT id, text FROM documents ORDER BY id")}


def export_qdpx(conn, out: str | Path, name: str = "autocode project") -> Path:
    """Write a .qdpx atomically; the same project gives byte-identical files."""
    qde, sources = project_xml(conn, name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in [("project.qde", qde), *((p, t.encode("utf-8")) for p, t in sources.items())]:
            z.writestr(zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return write_bytes(out, buf.getvalue())


def export_qdc(conn, out: str | Path) -> Path:
    return write_bytes(out, codebook_xml(conn))


# -- import ------------------------------------------------------------------------------------

@dataclass
class Imported:
    """What a .qdpx holds, in autocode's terms."""
    documents: list[tuple[str, str]] = field(default_factory=list)          # (id, text)
    codebook: cb.Codebook = field(default_factory=cb.Codebook)
    codings: list[tuple[str, int, int, str, str]] = field(default_factory=list)  # (doc, start, end, code, coder)


def _parse(data: bytes, where: str) -> ET.Element:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise AutocodeError("refused: the XML declares a DTD or entities, which REFI-QDA files never need "
                            "(it could be an attack)", "export the project again from your QDA software", where) from None
    except ET.ParseError as exc:
        line, col = exc.position
        raise AutocodeError(f"the XML is broken at line {line}, column {col}",
                            "export the project again from your QDA software", where) from None


def _members(path: Path) -> dict[str, bytes]:
    """Every member, read into memory after checking sizes: never extracted to disk."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise AutocodeError("is not a .qdpx project (a ZIP file)", "export it again as REFI-QDA project (.qdpx)", str(path)) from None
    with z:
        infos = z.infolist()
        total = sum(i.file_size for i in infos)
        if len(infos) > MAX_MEMBERS or total > MAX_TOTAL_BYTES or any(
                i.compress_size and i.file_size / i.compress_size > MAX_RATIO for i in infos if i.file_size > 1_000_000):
            raise AutocodeError("refused: the archive is too large or too compressed to be a real project "
                                f"({len(infos)} files, {total} bytes unpacked)", "check where the file came from", str(path))
        return {i.filename: z.read(i) for i in infos if not i.is_dir()}


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def read_qdpx(path: str | Path) -> Imported:
    path = Path(path)
    if not path.is_file():
        raise AutocodeError("file not found", "check the name and folder", str(path))
    members = _members(path)
    if "project.qde" not in members:
        raise AutocodeError("has no project.qde inside", "export it again as REFI-QDA project (.qdpx)", str(path))
    root = _parse(members["project.qde"], f"{path} (project.qde)")
    if root.tag != _q("Project"):
        raise AutocodeError(f"project.qde is not a QDA-XML project (root element {root.tag})",
                            "export it again as REFI-QDA project (.qdpx)", str(path))
    found = Imported()
    users = {u.get("guid"): u.get("name") or u.get("guid") for u in root.iter(_q("User"))}
    codes = _read_codebook(root.find(_q("CodeBook")), NS, found.codebook)
    for src in root.iter(_q("TextSource")):
        _read_source(src, members, path, users, codes, found)
    return found


def _read_codebook(node, ns: str, book: cb.Codebook) -> dict[str, str]:
    """Top-level codes become themes; every code below (and codable top-level ones) a code.

    Returns code GUID -> autocode code id ('' for autocode's own "no code").
    """
    by_guid: dict[str, str] = {}
    if node is None:
        return by_guid
    taken: set[str] = set()
    codes_node = node.find(f"{{{ns}}}Codes")
    for top in list(codes_node) if codes_node is not None else []:
        if top.get("name") == NO_CODE_NAME:
            by_guid[top.get("guid")] = ""
            continue
        theme_def, theme_id = _split_id(_text(top, ns), top.get("name"), taken)
        theme = cb.Theme(theme_id, top.get("name"), theme_def)
        book.themes.append(theme)
        if top.get("isCodable") == "true":
            _add(theme, top, [top.get("name")], ns, taken, by_guid)
        for child in top.findall(f"{{{ns}}}Code"):
            _walk(theme, child, [child.get("name")], ns, taken, by_guid)
    return by_guid


def _walk(theme, node, path, ns, taken, by_guid) -> None:
    _add(theme, node, path, ns, taken, by_guid)
    for child in node.findall(f"{{{ns}}}Code"):
        _walk(theme, child, path + [child.get("name")], ns, taken, by_guid)


def _add(theme: cb.Theme, node, path: list[str], ns: str, taken: set, by_guid: dict) -> None:
    name = " > ".join(path)
    definition, code_id = _split_id(_text(node, ns), name, taken)
    theme.codes.append(cb.Code(code_id, name, definition, theme.id))
    by_guid[node.get("guid")] = code_id


def _text(node, ns: str) -> str:
    d = node.find(f"{{{ns}}}Description")
    return (d.text or "").strip() if d is not None else ""


def _split_id(description: str, name: str, taken: set) -> tuple[str, str]:
    """The definition and the id: autocode's own id if the file carries one, else from the name."""
    m = ID_NOTE.search(description)
    item_id = m.group(1) if m else cb.slug(name)
    base, n = item_id, 2
    while item_id in taken:
        item_id, n = f"{base}_{n}", n + 1
    taken.add(item_id)
    return ID_NOTE.sub("", description).strip(), item_id


def _read_source(src, members: dict, path: Path, users: dict, codes: dict, found: Imported) -> None:
    text = _source_text(src, members, path)
    doc = Path(src.get("name") or (src.get("plainTextPath") or "").split("/")[-1]).stem or src.get("guid")
    found.documents.append((doc, text))
    for sel in src.iter(_q("PlainTextSelection")):
        start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
        if not 0 <= start < end <= len(text):
            raise AutocodeError(f"selection {sel.get('guid')} ({start}-{end}) lies outside source '{doc}' "
                                f"({len(text)} characters)", "export the project again; the file is inconsistent", str(path))
        for coding in sel.iter(_q("Coding")):
            ref = coding.find(_q("CodeRef"))
            target = ref.get("targetGUID") if ref is not None else None
            if target not in codes:
                raise AutocodeError(f"selection {sel.get('guid')} refers to a code ({target}) that is not in the codebook",
                                    "export the project again with its codebook", str(path))
            who = users.get(coding.get("creatingUser") or sel.get("creatingUser"), "imported")
            found.codings.append((doc, start, end, codes[target], who))


def _source_text(src, members: dict, path: Path) -> str:
    inline = src.find(_q("PlainTextContent"))
    if inline is not None and inline.text:
        return inline.text.replace("\r\n", "\n")
    ref = src.get("plainTextPath") or ""
    name = ref.split("internal://", 1)[1] if ref.startswith("internal://") else ref
    for candidate in (f"sources/{name}", f"Sources/{name}", name):
        if candidate in members:
            return members[candidate].decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    raise AutocodeError(f"source '{src.get('name') or ref}' has no plain text in the archive",
                        "export the project again including its sources", str(path))


def read_qdc(path: str | Path) -> cb.Codebook:
    path = Path(path)
    if not path.is_file():
        raise AutocodeError("file not found", "check the name and folder", str(path))
    root = _parse(path.read_bytes(), str(path))
    ns = NS_CODEBOOK if root.tag == f"{{{NS_CODEBOOK}}}CodeBook" else NS
    if root.tag not in (f"{{{NS_CODEBOOK}}}CodeBook", _q("CodeBook")):
        raise AutocodeError("is not a REFI-QDA codebook (.qdc)", "export the codebook again as .qdc", str(path))
    book = cb.Codebook()
    _read_codebook(root, ns, book)
    return book


def import_qdpx(project, path: str | Path, coder: str | None = None) -> dict:
    """Add a .qdpx's sources, codebook and codings to the project, all or nothing."""
    from .codings import overlapping
    from .corpus import AddReport, _store, utterance_rows
    from .ingest import read_labelled
    from .store import default_coder, now

    found = read_qdpx(path)
    interviewer = tuple(project.setting("ingest", "interviewer"))
    prepared = [read_labelled(Path(f"{doc}.txt"), text, "qdpx") for doc, text in found.documents]
    for t in prepared:   # where the text came from: this archive, not a file of its own
        t.source = f"{Path(path).resolve()}#{t.id}"
    report = AddReport(warnings=[w for t in prepared for w in t.warnings])
    with project.transaction() as conn:
        cb.store(conn, found.codebook)
        for t in prepared:
            _store(conn, t, utterance_rows(t, interviewer), report)
        rows = {(uid, code, who) for doc, start, end, code, who in found.codings
                for uid in overlapping(conn, doc, start, end)}
        conn.executemany("INSERT OR IGNORE INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                         [(uid, code, who, now()) for uid, code, who in sorted(rows)])
        summary = {"documents": [d for d, _ in found.documents], "codes": len(found.codebook.codes),
                   "themes": len(found.codebook.themes), "selections": len(found.codings), "codings": len(rows)}
        project.log("import-qdpx", coder or default_coder(), file=str(path), **summary)
    return {**summary, "warnings": report.warnings}


def import_qdc(project, path: str | Path, coder: str | None = None) -> dict:
    from .store import default_coder

    book = read_qdc(path)
    with project.transaction() as conn:
        counts = cb.store(conn, book)
        project.log("import-codebook", coder or default_coder(), file=str(path), **counts)
    return counts
