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
from autocode.refi import NS, export_qdc, export_qdpx
from autocode.refi_import import import_qdc, import_qdpx, read_qdpx
from conftest import DATA, SHARED, snapshot

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
    assert report["selections"] == 158 and report["applied"] == 205 and report["codings"] == 205
    assert report["codes"] == 262 and report["coders"] == {"cp": 205}
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
    said = " ".join(result.stdout.split())
    assert "205 codes applied to 158 coded passages, stored as 205 codings" in said and "(by coder: cp 205)" in said
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
    assert_refused(project, qdpx_with(tmp_path, project_xml(body)), "runs past the end of the source")


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


# -- what a researcher brings back from NVivo, ATLAS.ti or MAXQDA ------------------------------------

def _source(name: str, text: str, selections: list[tuple[int, int, str, str]], n: int = 1) -> str:
    """A TextSource with its text inline and (start, end, code guid, user guid) selections."""
    sels = "".join(f'<PlainTextSelection guid="{_g(n, i, 1)}" startPosition="{s}" endPosition="{e}" creatingUser="{u}">'
                   f'<Coding guid="{_g(n, i, 2)}" creatingUser="{u}"><CodeRef targetGUID="{c}"/></Coding></PlainTextSelection>'
                   for i, (s, e, c, u) in enumerate(selections))
    return f'<TextSource guid="{_g(n, 0, 0)}" name="{name}"><PlainTextContent>{text}</PlainTextContent>{sels}</TextSource>'


def _g(*parts) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


USER_A, USER_B = _g("user", "ann"), _g("user", "ben")
USERS = f'<Users><User guid="{USER_A}" name="ann"/><User guid="{USER_B}" name="ben"/></Users>'


def _codebook(themes: dict[str, list[str]]) -> str:
    """Themes as parent codes, codes under them; each code's guid is _g('code', theme, name)."""
    body = "".join(f'<Code guid="{_g("theme", t)}" name="{t}" isCodable="false">'
                   + "".join(f'<Code guid="{_g("code", t, c)}" name="{c}" isCodable="true"/>' for c in codes) + "</Code>"
                   for t, codes in themes.items())
    return f"<CodeBook><Codes>{body}</Codes></CodeBook>"


def _coded(p, coder: str) -> list[tuple]:
    return p.conn.execute("SELECT u.document, u.text, c.code FROM codings c JOIN utterances u ON u.id = c.utterance "
                          "WHERE c.coder = ? ORDER BY u.document, u.idx, c.code", (coder,)).fetchall()


TALK = "Interviewer: What do peer workers bring?\r\nP1: Hope, mostly.\r\nInterviewer: Anything else?\r\nP1: They help people feel understood.\r\n"


def test_windows_line_ends_keep_each_coding_on_its_own_words(tmp_path):
    p = Project.create(tmp_path / "p")
    code = _g("code", "Value", "Understanding")
    start = TALK.index("They help")   # NVivo counts the \r of every line before it
    body = USERS + _codebook({"Value": ["Understanding"]}) + f"<Sources>{_source('T1', TALK, [(start, start + 20, code, USER_A)])}</Sources>"
    import_qdpx(p, qdpx_with(tmp_path, project_xml(body)))
    assert [(d, t) for d, t, _ in _coded(p, "ann")] == [("T1", "They help people feel understood.")]
    assert "\r" not in p.conn.execute("SELECT text FROM documents").fetchone()[0]


def test_sources_of_one_name_are_both_kept_and_file_extensions_dropped(tmp_path):
    p = Project.create(tmp_path / "p")
    text = "Interviewer: Hi?\nP1: Hello there, I work with peers.\n"
    body = f"<Sources>{_source('Site A/Interview 1.1', text, [], 1)}{_source('Interview 3.docx', text, [], 2)}" \
           f"{_source('Site A/Interview 1.1', text.replace('Hello', 'Howdy'), [], 3)}</Sources>"
    report = import_qdpx(p, qdpx_with(tmp_path, project_xml(body)))
    assert [r[0] for r in p.conn.execute("SELECT id FROM documents ORDER BY id")] == [
        "Interview 3", "Site A/Interview 1.1", "Site A/Interview 1.1 (2)"]
    assert any("two sources are called 'Site A/Interview 1.1'" in w for w in report["added"].warnings)


def test_a_colleagues_code_of_a_similar_name_never_takes_over_the_projects(project, tmp_path):
    before = load(project.conn)
    cred = before.find_code("credibility")
    text = "Interviewer: Do patients trust them?\nP1: Patients trust them because they have been there.\n"
    code = _g("code", "Trust", "Credibility")
    body = USERS + _codebook({"Trust": ["Credibility"], "Lived experience": []}) + \
        f"<Sources>{_source('T1', text, [(40, 80, code, USER_A)])}</Sources>"
    report = import_qdpx(project, qdpx_with(tmp_path, project_xml(body)))
    after = load(project.conn)
    assert after.find_code("credibility") == cred   # name, definition and theme untouched
    new = next(c for c in after.codes if c.name == "Credibility")
    assert new.id == "credibility_2" and after.theme_of(new.id) != cred.theme
    assert _coded(project, "ann")[0][2] == new.id
    assert [t.definition for t in after.themes if t.id == "lived_experience"] == \
        [t.definition for t in before.themes if t.id == "lived_experience"]
    assert report["changes"] == []


def test_codes_of_one_name_under_two_themes_keep_their_themes_whatever_the_order(tmp_path):
    text = "Interviewer: Tell me.\nP1: My family helped me.\nInterviewer: And money?\nP1: The bank said no to a loan.\n"
    people, money = _g("code", "People", "Other"), _g("code", "Money", "Other")
    sels = [(text.index("My family"), text.index("My family") + 10, people, USER_A),
            (text.index("The bank"), text.index("The bank") + 10, money, USER_A)]
    p = Project.create(tmp_path / "p")
    first = USERS + _codebook({"People": ["Other"], "Money": ["Other"]}) + f"<Sources>{_source('T1', text, sels)}</Sources>"
    import_qdpx(p, qdpx_with(tmp_path, project_xml(first), name="a.qdpx"))
    again = USERS + _codebook({"Money": ["Other"], "People": ["Other"]}) + f"<Sources>{_source('T1', text, sels)}</Sources>"
    import_qdpx(p, qdpx_with(tmp_path, project_xml(again), name="b.qdpx"))
    book = load(p.conn)
    themes = {t: book.theme_of(code) for _, t, code in _coded(p, "ann")}
    assert themes == {"My family helped me.": "people", "The bank said no to a loan.": "money"}
    assert len(book.codes) == 2


def test_adding_the_file_again_after_deleting_codings_in_the_qda_tool_deletes_them(tmp_path):
    p = Project.create(tmp_path / "p")
    code = _g("code", "Value", "Hope")
    sels = [(TALK.index("Hope"), TALK.index("Hope") + 4, code, USER_A), (TALK.index("They"), TALK.index("They") + 9, code, USER_B)]
    body = USERS + _codebook({"Value": ["Hope"]})
    import_qdpx(p, qdpx_with(tmp_path, project_xml(body + f"<Sources>{_source('T1', TALK, sels)}</Sources>"), name="a.qdpx"))
    assert len(_coded(p, "ben")) == 1
    report = import_qdpx(p, qdpx_with(tmp_path, project_xml(body + f"<Sources>{_source('T1', TALK, sels[:1])}</Sources>"),
                                      name="b.qdpx"))
    assert _coded(p, "ben") == [] and len(_coded(p, "ann")) == 1
    assert ("ben", 1, 1) in report["replaced"] and ("ann", 1, 0) in report["replaced"]


def test_a_selection_across_two_answers_codes_the_one_it_holds_most_of(tmp_path):
    p = Project.create(tmp_path / "p")
    text = "Interviewer: Why?\nP1: Because of trust.\nP2: And of hope, which matters to everyone here.\n"
    code = _g("code", "Value", "Hope")
    start, end = text.index("trust."), text.index("And of hope") + 18   # 6 of 17 characters, 18 of 44
    body = USERS + _codebook({"Value": ["Hope"]}) + f"<Sources>{_source('T1', text, [(start, end, code, USER_A)])}</Sources>"
    report = import_qdpx(p, qdpx_with(tmp_path, project_xml(body)))
    assert [t for _, t, _ in _coded(p, "ann")] == ["And of hope, which matters to everyone here."]
    assert report["unplaced"] == 0


def test_a_selection_taking_in_the_interviewers_mm_codes_the_answer(tmp_path):
    p = Project.create(tmp_path / "p")
    text = "P1: I was unsure at first.\nInterviewer: Mm.\nP1: Then they showed me how recovery can look, which changed my mind.\n"
    code = _g("code", "Value", "Hope")
    start = text.index("Mm.")
    body = USERS + _codebook({"Value": ["Hope"]}) + f"<Sources>{_source('T1', text, [(start, start + 30, code, USER_A)])}</Sources>"
    report = import_qdpx(p, qdpx_with(tmp_path, project_xml(body)))
    assert "Then they showed me how recovery can look, which changed my mind." in [t for _, t, _ in _coded(p, "ann")]


def test_coder_names_the_one_coder_of_a_file_and_refuses_several(tmp_path):
    code = _g("code", "Value", "Hope")
    one = USERS + _codebook({"Value": ["Hope"]}) + f"<Sources>{_source('T1', TALK, [(50, 60, code, USER_A)])}</Sources>"
    p = Project.create(tmp_path / "p")
    import_qdpx(p, qdpx_with(tmp_path, project_xml(one), name="one.qdpx"), coder="carol")
    assert len(_coded(p, "carol")) == 1 and _coded(p, "ann") == []
    two = USERS + _codebook({"Value": ["Hope"]}) + \
        f"<Sources>{_source('T2', TALK, [(50, 60, code, USER_A), (100, 110, code, USER_B)])}</Sources>"
    assert_refused_with(p, qdpx_with(tmp_path, project_xml(two), name="two.qdpx"), "2 coders \\(ann, ben\\) under one name",
                        coder="carol")


def assert_refused_with(project, path, match, **kwargs):
    before = snapshot(project)
    with pytest.raises(AutocodeError, match=match):
        import_qdpx(project, path, **kwargs)
    assert snapshot(project) == before


def test_control_characters_in_a_transcript_still_make_a_file_tools_open(demo_project, tmp_path):
    demo_project.conn.execute("UPDATE utterances SET text = text || char(12) WHERE id IN "
                              "(SELECT utterance FROM codings LIMIT 3)")
    demo_project.conn.commit()
    path = export_qdpx(demo_project.conn, tmp_path / "x.qdpx")
    with zipfile.ZipFile(path) as z:
        qde = z.read("project.qde")
    assert b"\x0c" not in qde and b"&#12;" not in qde
    read_qdpx(path)   # parses


def test_an_empty_project_exports_a_valid_file_and_an_empty_codebook_is_refused(tmp_path):
    p = Project.create(tmp_path / "p")
    path = export_qdpx(p.conn, tmp_path / "empty.qdpx")
    with zipfile.ZipFile(path) as z:
        qde = z.read("project.qde")
    assert b"<Sources" not in qde and b"<CodeBook" not in qde and b"<Users" not in qde
    if SCHEMAS.is_dir():
        validate(qde, "Project.xsd")
    with pytest.raises(AutocodeError, match="the codebook is empty"):
        export_qdc(p.conn, tmp_path / "empty.qdc")


def test_export_of_one_coder_holds_only_their_codings(demo_project, tmp_path):
    found = read_qdpx(export_qdpx(demo_project.conn, tmp_path / "a.qdpx", coder="alice"))
    assert {c[4] for c in found.codings} == {"alice"} and found.users == ["alice"]


def test_cli_points_each_refi_file_to_the_command_that_reads_it(project, tmp_path):
    runner = CliRunner()
    qdc = export_qdc(project.conn, tmp_path / "c.qdc")
    result = runner.invoke(app, ["add", str(qdc), "--project", str(project.root)])
    assert result.exit_code == 1 and "autocode codebook import" in result.output
    qdpx = export_qdpx(project.conn, tmp_path / "p.qdpx")
    result = runner.invoke(app, ["codebook", "import", str(qdpx), "--project", str(project.root)])
    assert result.exit_code == 1 and "autocode add" in result.output and "Traceback" not in result.output
    out = tmp_path / "book.qdc"
    result = runner.invoke(app, ["codebook", "export", "--out", str(out), "--project", str(project.root)])
    assert result.exit_code == 0 and out.read_bytes().startswith(b"<?xml")
    result = runner.invoke(app, ["codebook", "export", "--out", str(tmp_path / "book.txt"), "--project", str(project.root)])
    assert result.exit_code == 1 and ".yaml or .qdc" in result.output


def test_cli_export_names_the_suggestions_a_qdpx_carries_and_refuses_an_unknown_coder(demo_project, tmp_path):
    runner = CliRunner()
    demo_project.conn.execute("INSERT INTO codings (utterance, code, coder, confidence, created_at) "
                              "SELECT id, 'credibility', 'machine', 0.9, 'now' FROM utterances LIMIT 2")
    demo_project.conn.commit()
    args = ["export", "--out", str(tmp_path / "x.qdpx"), "--project", str(demo_project.root)]
    said = " ".join(runner.invoke(app, args).output.split())
    assert "the machine's 2 suggestions as user 'machine'" in said
    result = runner.invoke(app, args + ["--coder", "zed"])
    assert result.exit_code == 1 and "zed" in result.output and "alice" in result.output


@pytest.mark.parametrize("selection, match", [
    ('startPosition="abc" endPosition="9"', "startPosition 'abc', not a whole number"),
    ('startPosition="9" endPosition="4"', "ends \\(at 4\\) before it starts \\(at 9\\)"),
])
def test_damaged_selections_are_named_plainly(project, tmp_path, selection, match):
    body = ('<Sources><TextSource guid="11111111-1111-1111-1111-111111111111" name="T"><PlainTextContent>P1: hello there'
            f'</PlainTextContent><PlainTextSelection guid="22222222-2222-2222-2222-222222222222" {selection}/>'
            '</TextSource></Sources>')
    assert_refused(project, qdpx_with(tmp_path, project_xml(body)), match)


def test_a_source_that_is_not_utf8_names_the_source_and_line(project, tmp_path):
    body = ('<Sources><TextSource guid="11111111-1111-1111-1111-111111111111" name="Interview 2" '
            'plainTextPath="internal://s.txt"/></Sources>')
    path = qdpx_with(tmp_path, project_xml(body), {"sources/s.txt": "P1: hello\nP2: caf\xe9 au lait\n".encode("latin-1")})
    assert_refused(project, path, "source 'Interview 2' is not UTF-8 \\(line 2\\)")


def test_a_source_clashing_with_a_transcript_says_to_rename_the_source_not_the_file(project, tmp_path):
    from autocode.corpus import add_files

    add_files(project, [DATA / "transcripts" / "D01.txt"])
    body = ('<Sources><TextSource guid="11111111-1111-1111-1111-111111111111" name="D01"><PlainTextContent>'
            'Interviewer: Hello?\nP1: Something else entirely, another interview.</PlainTextContent></TextSource></Sources>')
    with pytest.raises(AutocodeError) as err:
        import_qdpx(project, qdpx_with(tmp_path, project_xml(body), name="D01-2.qdpx"))
    assert "rename the source 'D01' in your QDA software" in err.value.fix


def test_two_studies_transcripts_of_one_name_never_share_a_guid(tmp_path):
    from autocode.corpus import add_files

    guids = []
    for i, words in enumerate(["Peers bring hope to the ward.", "Peers cost money we do not have."]):
        (tmp_path / f"s{i}").mkdir()
        f = tmp_path / f"s{i}" / "D01.txt"
        f.write_text(f"Interviewer: Tell me.\nP1: {words}\n", encoding="utf-8")
        p = Project.create(tmp_path / f"p{i}")
        add_files(p, [f])
        with zipfile.ZipFile(export_qdpx(p.conn, tmp_path / f"{i}.qdpx")) as z:
            guids.append(re.search(r'<TextSource guid="([^"]+)"', z.read("project.qde").decode()).group(1))
    assert guids[0] != guids[1]


def test_adding_a_projects_own_export_again_changes_no_coding(demo_project, tmp_path):
    demo_project.conn.execute("INSERT INTO codings (utterance, code, coder, confidence, reason, created_at) "
                              "SELECT id, 'credibility', 'machine', 0.9, 'because', 'then' FROM utterances "
                              "WHERE is_interviewer = 0 LIMIT 3")
    demo_project.conn.commit()
    before = snapshot(demo_project)["codings"]
    report = import_qdpx(demo_project, export_qdpx(demo_project.conn, tmp_path / "p.qdpx"))
    assert snapshot(demo_project)["codings"] == before   # ids, dates, confidences and reasons kept
    assert all(differ == 0 for _, _, differ in report["replaced"])


def test_a_backup_copy_of_the_database_in_a_subfolder_does_not_hide_the_project(project, monkeypatch):
    import shutil

    (project.root / "backup").mkdir()
    shutil.copy(project.root / "autocode.db", project.root / "backup" / "autocode.db")
    monkeypatch.chdir(project.root / "backup")
    assert Project.find().root == project.root


def test_a_file_taking_most_of_a_coders_work_waits_for_replace_codings_which_leaves_marks_alone(tmp_path):
    text = "".join(f"Max: Question {i}?\nP1: Answer number {i} is about hope.\n" for i in range(12))
    code = _g("code", "Value", "Hope")
    sels = [(text.index(f"Answer number {i} "), text.index(f"Answer number {i} ") + 10, code, USER_A) for i in range(12)]
    body = lambda s: USERS + _codebook({"Value": ["Hope"]}) + f"<Sources>{_source('T1', text, s)}</Sources>"  # noqa: E731
    p = Project.create(tmp_path / "p")
    import_qdpx(p, qdpx_with(tmp_path, project_xml(body(sels)), name="all.qdpx"), interviewer=("Max",))
    few = qdpx_with(tmp_path, project_xml(body(sels[:2])), name="few.qdpx")
    assert_refused_with(p, few, "would replace ann's codings of 12 utterances")   # and nothing changed
    with pytest.raises(AutocodeError) as err:
        import_qdpx(p, few)
    assert "--replace-codings" in err.value.fix and "coder column" not in err.value.fix
    import_qdpx(p, few, replace_codings=True)
    marked = p.conn.execute("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 1").fetchone()[0]
    assert len(_coded(p, "ann")) == 2 and marked == 12


def test_reimporting_a_read_coding_clears_its_unread_mark(demo_project, tmp_path):
    from autocode.confirm import UNREAD
    from autocode.codings import import_codings

    demo_project.conn.execute("UPDATE codings SET reason = ? WHERE coder = 'alice' AND utterance IN "
                              "(SELECT utterance FROM codings WHERE coder = 'alice' LIMIT 3)", (UNREAD,))
    demo_project.conn.commit()
    f = tmp_path / "alice.csv"
    f.write_text("document,utterance,code,reason\n" + "".join(
        f"{d},{i},{c},\n" for d, i, c in demo_project.conn.execute(
            "SELECT u.document, u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance WHERE coder = 'alice'")),
        encoding="utf-8")
    import_codings(demo_project, f, "alice")
    assert demo_project.conn.execute("SELECT COUNT(*) FROM codings WHERE reason = ?", (UNREAD,)).fetchone()[0] == 0
