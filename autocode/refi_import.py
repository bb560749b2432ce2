"""Reading REFI-QDA projects (.qdpx) and codebooks (.qdc) from NVivo, ATLAS.ti and MAXQDA.

Files are parsed with defusedxml (no DTDs, no entity expansion), ZIP members are read into
memory and never written to disk, and sizes are bounded. A selection codes the utterances it
covers, as codings CSV spans do.

A file's codes meet the project's by autocode's own id or GUID (a file autocode wrote), else
by name under the same theme, else by a name only one code has: never by an id made from the
name alone, which would let a colleague's "Credibility" take over the project's "Credibility
and rapport", or two codes called "Other" swap themes when a file lists its themes in another order.
"""
from __future__ import annotations

import re
import zipfile
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

from . import codebook as cb
from .errors import AutocodeError
from .refi import NO_CODE_NAME, NS, NS_CODEBOOK, UNREAD_USER, guid

MAX_TOTAL_BYTES, MAX_MEMBERS, MAX_RATIO = 500_000_000, 10_000, 200
ID_NOTE = re.compile(r"\s*\[autocode id: ([^\]]+)\]\s*$")
# A source's name often keeps its file's extension ("Interview 3.docx"); other dots are the name's.
FILE_SUFFIXES = (".txt", ".docx", ".doc", ".rtf", ".pdf", ".odt", ".md", ".htm", ".html")


@dataclass
class Imported:
    """What a .qdpx holds, in autocode's terms."""
    documents: list[tuple[str, str]] = field(default_factory=list)          # (id, text)
    codebook: cb.Codebook = field(default_factory=cb.Codebook)
    codings: list[tuple[str, int, int, str, str]] = field(default_factory=list)  # (doc, start, end, code, coder)
    users: list[str] = field(default_factory=list)
    guids: dict[str, str] = field(default_factory=dict)     # the file's id of a theme or code -> its GUID
    noted: set[str] = field(default_factory=set)             # ids the file carries as autocode's own
    selections: int = 0
    warnings: list[str] = field(default_factory=list)


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
    found.users = sorted(set(users.values()))
    codes = _read_codebook(root.find(_q("CodeBook")), NS, found)
    for src in root.iter(_q("TextSource")):
        _read_source(src, members, path, users, codes, found)
    return found


def _read_codebook(node, ns: str, found: Imported) -> dict[str, str]:
    """Top-level codes become themes; every code below (and codable top-level ones) a code.

    Returns code GUID -> the file's code id ('' for autocode's own "no code").
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
        theme_def, theme_id = _split_id(_text(top, ns), top.get("name"), taken, found)
        found.guids[theme_id] = top.get("guid")
        theme = cb.Theme(theme_id, top.get("name"), theme_def)
        found.codebook.themes.append(theme)
        if top.get("isCodable") == "true":
            _add(theme, top, [top.get("name")], ns, taken, by_guid, found)
        for child in top.findall(f"{{{ns}}}Code"):
            _walk(theme, child, [child.get("name")], ns, taken, by_guid, found)
    return by_guid


def _walk(theme, node, path, ns, taken, by_guid, found) -> None:
    _add(theme, node, path, ns, taken, by_guid, found)
    for child in node.findall(f"{{{ns}}}Code"):
        _walk(theme, child, path + [child.get("name")], ns, taken, by_guid, found)


def _add(theme: cb.Theme, node, path: list[str], ns: str, taken: set, by_guid: dict, found: Imported) -> None:
    name = " > ".join(path)
    definition, code_id = _split_id(_text(node, ns), name, taken, found)
    theme.codes.append(cb.Code(code_id, name, definition, theme.id))
    by_guid[node.get("guid")] = code_id
    found.guids[code_id] = node.get("guid")


def _text(node, ns: str) -> str:
    d = node.find(f"{{{ns}}}Description")
    return (d.text or "").strip() if d is not None else ""


def _split_id(description: str, name: str, taken: set, found: Imported) -> tuple[str, str]:
    """The definition and the id: autocode's own id if the file carries one, else from the name."""
    m = ID_NOTE.search(description)
    base = m.group(1) if m else cb.slug(name)
    item_id = _free_id(base, taken)
    taken.add(item_id)
    if m and item_id == base:
        found.noted.add(item_id)
    return ID_NOTE.sub("", description).strip(), item_id


def _read_source(src, members: dict, path: Path, users: dict, codes: dict, found: Imported) -> None:
    text, dropped = _source_text(src, members, path)
    doc = _document_id(src, {d for d, _ in found.documents}, path, found)
    found.documents.append((doc, text))
    for sel in src.iter(_q("PlainTextSelection")):
        start, end = (_position(sel, side, doc, path) for side in ("startPosition", "endPosition"))
        start, end = start - bisect_left(dropped, start), end - bisect_left(dropped, end)
        _check_span(sel, start, end, text, doc, path)
        found.selections += 1
        for coding in sel.iter(_q("Coding")):
            ref = coding.find(_q("CodeRef"))
            target = ref.get("targetGUID") if ref is not None else None
            if target not in codes:
                raise AutocodeError(f"selection {sel.get('guid')} refers to a code ({target}) that is not in the codebook",
                                    "export the project again with its codebook", str(path))
            who = users.get(coding.get("creatingUser") or sel.get("creatingUser"), "imported")
            found.codings.append((doc, start, end, codes[target], who))


def _position(sel, side: str, doc: str, path: Path) -> int:
    value = sel.get(side) or ""
    if not value.strip().isdigit():
        raise AutocodeError(f"selection {sel.get('guid')} in source '{doc}' has {side} '{value}', not a whole number",
                            "export the project again from your QDA software; the file is damaged", str(path))
    return int(value)


def _check_span(sel, start: int, end: int, text: str, doc: str, path: Path) -> None:
    where = f"selection {sel.get('guid')} in source '{doc}'"
    fix = "export the project again from your QDA software; the file is inconsistent"
    if not text.strip():
        raise AutocodeError(f"source '{doc}' has no text, yet it has coded selections", fix, str(path))
    if end <= start:
        raise AutocodeError(f"{where} ends (at {end}) before it starts (at {start})", fix, str(path))
    if end > len(text):
        raise AutocodeError(f"{where} ({start}-{end}) runs past the end of the source ({len(text)} characters)", fix, str(path))


def _document_id(src, taken: set[str], path: Path, found: Imported) -> str:
    """The source's name as the tool showed it, less a file extension; two sources of one name
    are told apart, never one written over the other."""
    name = (src.get("name") or (src.get("plainTextPath") or "").split("/")[-1]).strip() or src.get("guid")
    if Path(name).suffix.lower() in FILE_SUFFIXES:
        name = name[: -len(Path(name).suffix)]
    doc = _free_id(name, taken, " ({})")
    if doc != name:
        found.warnings.append(f"{path}: two sources are called '{name}'; the second is added as '{doc}'. "
                              "Rename it in your QDA software and export again to choose its name.")
    return doc


def _source_text(src, members: dict, path: Path) -> tuple[str, list[int]]:
    """The source's text with Unix line ends, and where each Windows "\\r" was dropped: the
    file's positions count them, so a selection after one moves back by one for each."""
    inline = src.find(_q("PlainTextContent"))
    if inline is not None and inline.text:
        return _unix_lines(inline.text)
    ref = src.get("plainTextPath") or ""
    name = ref.split("internal://", 1)[1] if ref.startswith("internal://") else ref
    for candidate in (f"sources/{name}", f"Sources/{name}", name):
        if candidate in members:
            return _unix_lines(_decoded(members[candidate], src, path))
    raise AutocodeError(f"source '{src.get('name') or ref}' has no plain text in the archive",
                        "export the project again including its sources", str(path))


def _decoded(data: bytes, src, path: Path) -> str:
    """REFI-QDA keeps sources' plain text as UTF-8 (a byte-order mark allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise AutocodeError(f"the text of source '{src.get('name')}' is not UTF-8 (line {line}), as REFI-QDA requires",
                            "export the project again from your QDA software, or save that source as UTF-8 text "
                            "and add it on its own", str(path)) from None


def _unix_lines(raw: str) -> tuple[str, list[int]]:
    dropped = [m.start() for m in re.finditer("\r\n", raw)]
    return raw.replace("\r\n", "\n").replace("\r", "\n"), dropped


def read_qdc(path: str | Path) -> Imported:
    path = Path(path)
    if not path.is_file():
        raise AutocodeError("file not found", "check the name and folder", str(path))
    if path.suffix.lower() == ".qdpx":
        raise AutocodeError("is a REFI-QDA project, not a codebook", f"add it with: autocode add {path}", str(path))
    root = _parse(path.read_bytes(), str(path))
    ns = NS_CODEBOOK if root.tag == f"{{{NS_CODEBOOK}}}CodeBook" else NS
    if root.tag not in (f"{{{NS_CODEBOOK}}}CodeBook", _q("CodeBook")):
        raise AutocodeError("is not a REFI-QDA codebook (.qdc)", "export the codebook again as .qdc", str(path))
    found = Imported()
    _read_codebook(root, ns, found)
    return found


# -- meeting the project's codebook ---------------------------------------------------------

def match_codebook(before: cb.Codebook, found: Imported) -> None:
    """Give each of the file's themes and codes (and its codings) the project's id for the same
    one, or an id of its own the project does not use."""
    themes = _match(before.themes, found.codebook.themes, found, lambda old, new: True)
    for t in found.codebook.themes:
        t.id = themes[t.id]
        for c in t.codes:
            c.theme = t.id
    codes = _match(before.codes, found.codebook.codes, found, lambda old, new: old.theme == new.theme)
    for c in found.codebook.codes:
        c.id = codes[c.id]
    cb.keep_definitions(before, found.codebook)
    found.codings = [(d, s, e, codes.get(code, code), who) for d, s, e, code, who in found.codings]


def _match(old: list, new: list, found: Imported, same_place) -> dict[str, str]:
    by_guid = {guid("code" if isinstance(o, cb.Code) else "theme", o.id): o.id for o in old}
    ids, used = {}, set()
    for item in new:
        named = [o for o in old if cb.same_name(o.name, item.name)]
        alone = len(named) == 1 and sum(cb.same_name(n.name, item.name) for n in new) == 1
        here = [o for o in named if same_place(o, item)]
        hit = (item.id if item.id in found.noted else by_guid.get(found.guids.get(item.id))
               or (here[0].id if len(here) == 1 else named[0].id if alone else None))
        if hit is None or hit in used:
            hit = _free_id(item.id, {o.id for o in old} | used | {n.id for n in new if n is not item})
        ids[item.id] = hit
        used.add(hit)
    return ids


def _free_id(base: str, taken: set[str], suffix: str = "_{}") -> str:
    """``base``, or ``base_2``, ``base_3``... (or "name (2)"): the first the project and file do not use."""
    item_id, n = base, 2
    while item_id in taken:
        item_id, n = base + suffix.format(n), n + 1
    return item_id


# -- into the project -----------------------------------------------------------------------

def import_qdpx(project, path: str | Path, coder: str | None = None, interviewer: tuple[str, ...] = (),
                replace: bool = False, replace_codings: bool = False) -> dict:
    """Add a .qdpx's sources, codebook and codings to the project, all or nothing. Each of the
    file's coders' codings of its transcripts replace theirs in the project, as a codings CSV's
    do, so a coding deleted in NVivo is deleted here too; what that changed is reported."""
    from .corpus import AddReport, _store, utterance_rows
    from .store import default_coder

    found = read_qdpx(path)
    _name_the_coder(found, coder, path)
    prepared = [_transcript(path, doc, text) for doc, text in found.documents]
    interviewer = tuple(interviewer) + tuple(project.setting("ingest", "interviewer"))
    added = AddReport(warnings=found.warnings + [w for t in prepared for w in t.warnings])
    with project.transaction() as conn:
        before = cb.load(conn)
        match_codebook(before, found)
        cb.store(conn, found.codebook)
        for t in prepared:
            _store(conn, t, utterance_rows(t, interviewer), added, replace)
        report = _codings(conn, found, path, replace_codings)
        report |= {"documents": [d for d, _ in found.documents], "codes": len(found.codebook.codes),
                   "themes": len(found.codebook.themes), "changes": cb.changes(before, found.codebook),
                   "new_codes": sum(c.id not in {o.id for o in before.codes} for c in found.codebook.codes)}
        project.log("import-qdpx", default_coder(), file=str(path),
                    **{k: v for k, v in report.items() if k in ("documents", "codes", "themes", "codings", "coders")})
    return {**report, "added": added}


def _name_the_coder(found: Imported, coder: str | None, path) -> None:
    """``--coder`` names the one coder of a file (NVivo's users are often all "Owner")."""
    if not coder:
        return
    who = sorted({_coder_and_reason(c[4])[0] for c in found.codings})
    if len(who) > 1:
        raise AutocodeError(f"--coder {coder} would put the codings of {len(who)} coders ({', '.join(who)}) under one "
                            "name", "leave out --coder to keep each coder's name from the file; nothing was added", str(path))
    unread = lambda user: UNREAD_USER if _coder_and_reason(user)[1] else ""  # noqa: E731
    found.codings = [(d, s, e, code, coder + unread(user)) for d, s, e, code, user in found.codings]
    found.users = [coder]


def _transcript(path, doc: str, text: str):
    from .ingest import read_labelled

    t = read_labelled(Path(f"{Path(path).name}, source '{doc}'"), text, "qdpx")
    t.id, t.source = doc, f"{Path(path).resolve()}#{doc}"   # from this archive, not a file of its own
    return t


def _codings(conn, found: Imported, path, replace: bool) -> dict:
    """Replace each of the file's coders' codings of its transcripts with the file's; a file
    that would take away most of a coder's codings is refused unless ``replace``
    (``add --replace-codings``, which leaves transcripts and interviewer marks alone)."""
    from .codings import MACHINE, _drop_redundant_no_code, _on_interviewer, overlapping, replace_each

    docs = [d for d, _ in found.documents]
    pairs, unplaced = {}, 0
    for doc, start, end, code, user in found.codings:
        hits = overlapping(conn, doc, start, end)
        unplaced += not hits
        who, how = _coder_and_reason(user)
        pairs.update({(uid, code, who): (None, how) for uid in hits})
    pairs = _drop_redundant_no_code(pairs)
    coders = sorted({k[2] for k in pairs} | {_coder_and_reason(u)[0] for u in found.users})
    replaced = replace_each(conn, coders if docs else [], docs, pairs, Path(path), guard=not replace, fix=QDPX_FIX,
                            keep_reasons=lambda who: who == MACHINE)   # the machine's reasons are not in the file
    per_coder = {who: sum(1 for k in pairs if k[2] == who) for who in sorted({k[2] for k in pairs})}
    return {"selections": found.selections, "applied": len(found.codings), "codings": len(pairs), "coders": per_coder,
            "replaced": replaced, "unplaced": unplaced,
            "interviewer": _on_interviewer(conn, list(per_coder), docs) if per_coder and docs else 0}


QDPX_FIX = ("if {coder} deleted them in the QDA software, add the file again with --replace-codings; if another "
            "person shares the name (NVivo often calls every user 'Owner'), add it with --coder THEIR-NAME; nothing was added")


def _coder_and_reason(user: str) -> tuple[str, str | None]:
    from .confirm import UNREAD

    return (user[: -len(UNREAD_USER)], UNREAD) if user.endswith(UNREAD_USER) else (user, None)


def import_qdc(project, path: str | Path, coder: str | None = None) -> dict:
    from .store import default_coder

    found = read_qdc(path)
    with project.transaction() as conn:
        before = cb.load(conn)
        match_codebook(before, found)
        counts = cb.store(conn, found.codebook)
        changes = cb.changes(before, found.codebook)
        project.log("import-codebook", coder or default_coder(), file=str(path), changes=changes, **counts)
    return {**counts, "changes": changes}
