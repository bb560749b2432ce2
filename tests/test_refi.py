"""REFI-QDA .qdpx/.qdc: schema-valid exports, exact round trips, real imports, hostile files."""
from __future__ import annotations

import re
import zipfile

import pytest
from typer.testing import CliRunner

from autocode import AutocodeError, Project
from autocode.cli import app
from autocode.codebook import load
from autocode.export import coding_rows
from autocode.refi import NS, export_qdc, export_qdpx, import_qdc, import_qdpx, read_qdpx
from conftest import SHARED, snapshot

SCHEMAS = SHARED / "datasets/refi-qdpx-demo/schema"
DEMO_QDPX = SHARED / "datasets/refi-qdpx-demo/demo.qdpx"
needs_schema = pytest.mark.skipif(not SCHEMAS.is_dir(), reason="../shared REFI-QDA schemas absent")
needs_demo = pytest.mark.skipif(not DEMO_QDPX.is_file(), reason="../shared demo.qdpx absent")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def validate(xml: bytes, schema: str) -> None:
    from lxml import etree

    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / schema)))
    assert xsd.validate(etree.fromstring(xml)), xsd.error_log


@pytest.fixture
def exported(demo_project, tmp_path):
    return export_qdpx(demo_project.conn, tmp_path / "demo.qdpx", "demo")


@needs_schema
def test_qdpx_export_validates_against_the_published_schema(exported):
    with zipfile.ZipFile(exported) as z:
        validate(z.read("project.qde"), "Project.xsd")


@needs_schema
def test_qdc_export_validates(demo_project, tmp_path):
    validate(export_qdc(demo_project.conn, tmp_path / "c.qdc").read_bytes(), "Codebook.xsd")


def test_qdpx_layout_encoding_and_guids(exported, demo_project):
    with zipfile.ZipFile(exported) as z:
        names = z.namelist()
        qde = z.read("project.qde")
        assert all(n == "project.qde" or n.startswith("sources/") for n in names)
        assert len([n for n in names if n.startswith("sources/")]) == 7
        source = z.read(next(n for n in names if n.startswith("sources/")))
    assert not qde.startswith(b"\xef\xbb\xbf") and b"\r" not in qde and b"\r" not in source
    text = qde.decode("utf-8")
    assert f'xmlns="{NS}"' in text
    assert all(GUID.match(g) for g in re.findall(r'guid="([^"]+)"', text))
    assert 'isCodable="false"' in text and "creatingUser" in text


def test_each_coder_is_a_user_and_themes_are_parents(exported):
    found = read_qdpx(exported)
    assert {c[4] for c in found.codings} == {"alice", "bob"}
    assert [t.id for t in found.codebook.themes] == ["lived_experience", "contribution", "impact_on_psw",
                                                     "role_ambiguity", "team_dynamics"]


def test_selection_name_is_the_selected_text(exported):
    with zipfile.ZipFile(exported) as z:
        qde = z.read("project.qde").decode("utf-8")
        sources = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("sources/")}
    from defusedxml.ElementTree import fromstring

    root = fromstring(qde)
    for src in root.iter(f"{{{NS}}}TextSource"):
        text = sources["sources/" + src.get("plainTextPath").split("internal://")[1]]
        for sel in list(src.iter(f"{{{NS}}}PlainTextSelection"))[:30]:
            assert text[int(sel.get("startPosition")):int(sel.get("endPosition"))] == sel.get("name")


def test_exports_are_byte_identical_when_repeated(demo_project, tmp_path):
    a = export_qdpx(demo_project.conn, tmp_path / "a.qdpx").read_bytes()
    b = export_qdpx(demo_project.conn, tmp_path / "b.qdpx").read_bytes()
    assert a == b


def test_export_then_import_reproduces_the_project(demo_project, exported, tmp_path):
    fresh = Project.create(tmp_path / "fresh")
    import_qdpx(fresh, exported)
    q = "SELECT id, text FROM documents ORDER BY id"
    assert fresh.conn.execute(q).fetchall() == demo_project.conn.execute(q).fetchall()
    assert load(fresh.conn).to_dict() == load(demo_project.conn).to_dict()
    assert coding_rows(fresh.conn) == coding_rows(demo_project.conn)


def test_qdc_round_trip(demo_project, tmp_path):
    path = export_qdc(demo_project.conn, tmp_path / "c.qdc")
    fresh = Project.create(tmp_path / "fresh")
    import_qdc(fresh, path)
    assert load(fresh.conn).to_dict() == load(demo_project.conn).to_dict()


@needs_demo
def test_real_qdpx_imports_all_205_codings_on_the_right_text(tmp_path):
    p = Project.create(tmp_path / "p")
    report = import_qdpx(p, DEMO_QDPX)
    assert report["selections"] == 205 and report["codings"] == 205 and report["codes"] == 262
    found = read_qdpx(DEMO_QDPX)
    for doc, start, end, code, coder in found.codings:
        rows = p.conn.execute("SELECT u.start, u.end FROM codings c JOIN utterances u ON u.id = c.utterance "
                              "WHERE u.document = ? AND c.code = ? AND c.coder = ?", (doc, code, coder)).fetchall()
        assert any(max(s, start) < min(e, end) for s, e in rows)   # the coding sits on the selected text
    assert {c[4] for c in found.codings} == {"cp"}


@needs_demo
def test_cli_add_qdpx_and_export_formats(tmp_path):
    runner = CliRunner()
    proj = str(tmp_path / "p")
    assert runner.invoke(app, ["init", proj]).exit_code == 0
    result = runner.invoke(app, ["add", str(DEMO_QDPX), "--project", proj])
    assert result.exit_code == 0, result.output
    assert "205 codings" in result.stdout
    for fmt in ("qdpx", "qdc", "csv"):
        out = tmp_path / f"x.{fmt}"
        result = runner.invoke(app, ["export", "--format", fmt, "--out", str(out), "--project", proj])
        assert result.exit_code == 0 and out.stat().st_size > 100, result.output


# -- bad and hostile files ----------------------------------------------------------------------------

def qdpx_with(tmp_path, qde: bytes, extra: dict | None = None, name: str = "bad.qdpx"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("project.qde", qde)
        for member, data in (extra or {}).items():
            z.writestr(member, data)
    return path


def project_xml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="x">{body}</Project>'.encode()


def assert_refused(project, path, match):
    before = snapshot(project)
    with pytest.raises(AutocodeError, match=match):
        import_qdpx(project, path)
    assert snapshot(project) == before


def test_entity_expansion_is_refused(project, tmp_path):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<Project xmlns="urn:QDA-XML:project:1.0" name="&lol2;"/>')
    assert_refused(project, qdpx_with(tmp_path, bomb), "DTD or entities")


def test_external_entities_are_refused(project, tmp_path):
    xxe = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<Project xmlns="urn:QDA-XML:project:1.0" name="&x;"/>')
    assert_refused(project, qdpx_with(tmp_path, xxe), "DTD or entities")


def test_zip_member_paths_are_never_written(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body = ('<Sources><TextSource guid="11111111-1111-1111-1111-111111111111" name="T" '
            'plainTextPath="../../evil.txt"/></Sources>')
    path = qdpx_with(tmp_path, project_xml(body), {"../../evil.txt": "Interviewer: hi\nP1: hello there\n"})
    import_qdpx(project, path)
    assert not (tmp_path.parent.parent / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert project.conn.execute("SELECT id FROM documents").fetchall()[0][0] == "T"


def test_zip_bomb_is_refused(project, tmp_path):
    path = tmp_path / "bomb.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", project_xml(""))
        z.writestr("sources/big.txt", b"0" * 50_000_000)
    assert_refused(project, path, "too large or too compressed")


def test_not_a_zip(project, tmp_path):
    bad = tmp_path / "x.qdpx"
    bad.write_text("hello", encoding="utf-8")
    assert_refused(project, bad, "not a .qdpx")


def test_missing_project_qde(project, tmp_path):
    path = tmp_path / "x.qdpx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other.xml", "<a/>")
    assert_refused(project, path, "no project.qde")


def test_broken_xml_names_the_line(project, tmp_path):
    assert_refused(project, qdpx_with(tmp_path, b'<?xml version="1.0"?>\n<Project name="x">\n<Users>\n</Project>'),
                   "line 4")


def test_unknown_code_reference(project, tmp_path):
    body = ('<Sources><TextSource guid="11111111-1111-1111-1111-111111111111" name="T"><PlainTextContent>P1: hello there friend'
            '</PlainTextContent><PlainTextSelection guid="22222222-2222-2222-2222-222222222222" startPosition="4" endPosition="9">'
            '<Coding guid="33333333-3333-3333-3333-333333333333"><CodeRef targetGUID="44444444-4444-4444-4444-444444444444"/>'
            '</Coding></PlainTextSelection></TextSource></Sources>')
    assert_refused(project, qdpx_with(tmp_path, project_xml(body)), "not in the codebook")


def test_selection_outside_the_text(project, tmp_path):
    body = ('<Sources><TextSource guid="11111111-1111-1111-1111-111111111111" name="T"><PlainTextContent>short'
            '</PlainTextContent><PlainTextSelection guid="22222222-2222-2222-2222-222222222222" startPosition="2" '
            'endPosition="999"/></TextSource></Sources>')
    assert_refused(project, qdpx_with(tmp_path, project_xml(body)), "outside source")


def test_cli_bad_qdpx_is_one_plain_message(project, tmp_path):
    bad = tmp_path / "x.qdpx"
    bad.write_text("hello", encoding="utf-8")
    result = CliRunner().invoke(app, ["add", str(bad), "--project", str(project.root)])
    assert result.exit_code == 1 and "not a .qdpx" in result.output and "Traceback" not in result.output


def test_non_english_transcript_warns_and_names_a_model(tmp_path):
    from autocode.ingest import read_transcripts

    f = tmp_path / "fr.txt"
    f.write_text("Interviewer: Est-ce que vous pouvez nous parler de votre travail?\n"
                 "P1: Oui, je suis ingénieur et je travaille avec des données dans une entreprise, "
                 "et nous avons des problèmes avec la qualité des modèles pour les clients.\n", encoding="utf-8")
    [t] = read_transcripts(f)
    assert any("looks French" in w and "paraphrase-multilingual" in w for w in t.warnings)
