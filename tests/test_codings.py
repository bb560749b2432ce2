"""Importing and exporting codings: span mapping, replacement, round trip, the reference study."""
from __future__ import annotations

import csv

import pytest

from autocode import AutocodeError, Project, add_files, import_codings
from autocode.codings import overlapping
from autocode.export import COLUMNS, coding_rows, export_csv
from autocode.review import import_codebook
from conftest import DATA, SHARED, snapshot


def test_demo_codings_land_on_the_right_text(demo_project):
    conn = demo_project.conn
    rows = list(csv.DictReader((DATA / "codings" / "alice_D01-D03.csv").open(encoding="utf-8")))
    for r in rows[:80]:
        if not r["code"]:
            continue
        hits = overlapping(conn, r["document"], int(r["start"]), int(r["end"]))
        codes = {c for uid in hits for (c,) in conn.execute(
            "SELECT code FROM codings WHERE utterance = ? AND coder = 'alice'", (uid,))}
        assert r["code"] in codes, r["text"]


def test_span_codes_utterances_it_covers_by_more_than_half(project, tmp_path):
    f = tmp_path / "T.txt"
    a = "I think peer workers bring something that none of the rest of us can bring to the team."
    b = "But the pay is poor and I worry that the trust is using them as cheap labour for now."
    f.write_text(f"Interviewer: Go on.\nP1: {a} {b}\n", encoding="utf-8")
    add_files(project, [f])
    text = f.read_text(encoding="utf-8")
    start = text.index(b) - 5   # a little of the first utterance, all of the second
    codings = tmp_path / "c.csv"
    codings.write_text(f"document,start,end,code\nT,{start},{start + 5 + len(b)},cost_and_exploitation\n", encoding="utf-8")
    import_codings(project, codings, "me")
    coded = project.conn.execute("SELECT u.text FROM codings c JOIN utterances u ON u.id = c.utterance").fetchall()
    assert [r[0] for r in coded] == [b]


def test_import_replaces_the_coders_earlier_coding(demo_project, tmp_path):
    f = tmp_path / "one.csv"
    f.write_text("document,utterance,code\nD01,3,credibility\n", encoding="utf-8")
    before = snapshot(demo_project)
    with pytest.raises(AutocodeError, match="would replace alice's codings of 94 utterances in these transcripts "
                                            "with codings of 1"):
        import_codings(demo_project, f, "alice")   # most of her work gone: a mistake, until --replace says not
    assert snapshot(demo_project) == before
    import_codings(demo_project, f, "alice", replace=True)
    n = demo_project.conn.execute("SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                                  "WHERE coder = 'alice' AND u.document = 'D01'").fetchone()[0]
    assert n == 1
    other = demo_project.conn.execute("SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                                      "WHERE coder = 'alice' AND u.document = 'D02'").fetchone()[0]
    assert other > 0


def test_import_says_whose_codings_it_replaced_and_what_landed_on_the_interviewer(demo_project, tmp_path):
    """ben edits alice's export and forgets --coder: the report says alice's work was replaced."""
    conn = demo_project.conn
    had = conn.execute("SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                       "WHERE coder = 'alice' AND u.document = 'D01'").fetchone()[0]
    first = conn.execute("SELECT idx FROM utterances WHERE document = 'D01' AND is_interviewer = 1 ORDER BY idx").fetchone()[0]
    f = tmp_path / "ben.csv"
    f.write_text(f"document,utterance,code,coder\nD01,{first},credibility,alice\n", encoding="utf-8")
    utts = conn.execute("SELECT COUNT(DISTINCT c.utterance) FROM codings c JOIN utterances u ON u.id = c.utterance "
                        "WHERE coder = 'alice' AND u.document = 'D01'").fetchone()[0]
    with pytest.raises(AutocodeError, match="would replace alice's codings"):
        import_codings(demo_project, f)   # refused first: most of alice's work would go
    report = import_codings(demo_project, f, replace=True)
    assert report.replaced == [("alice", had, utts + 1)] and report.interviewer == 1
    again = import_codings(demo_project, f)
    assert again.replaced == [("alice", 1, 0)]


def test_no_code_rows_are_kept_as_coded_no_code(demo_project):
    n = demo_project.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = 'alice' AND code = ''").fetchone()[0]
    assert n > 0
    both = demo_project.conn.execute(
        "SELECT COUNT(*) FROM codings a JOIN codings b ON a.utterance = b.utterance AND a.coder = b.coder "
        "WHERE a.code = '' AND b.code != ''").fetchone()[0]
    assert both == 0


def test_export_then_import_round_trips_exactly(demo_project, tmp_path):
    out = tmp_path / "all.csv"
    n = export_csv(demo_project.conn, out)
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == ",".join(COLUMNS)
    fresh = Project.create(tmp_path / "fresh")
    import_codebook(fresh, DATA / "codebook.yaml", "t")
    add_files(fresh, sorted((DATA / "transcripts").glob("D0[1-7].txt")))
    import_codings(fresh, out)
    assert coding_rows(fresh.conn) == coding_rows(demo_project.conn)
    assert len(coding_rows(fresh.conn)) == n


def test_a_table_transcripts_utterance_numbers_are_autocodes_not_its_sheet_rows(project, tmp_path):
    """A table's rows keep their sheet row number as a source id (2, 3, ...), which once won over
    autocode's own numbers: the export did not import again, and a file without text shifted."""
    table = tmp_path / "T6.csv"
    said = ["Tell me about nights.", "I am always tired after the third night in a row honestly.",
            "And the staffing?", "Two nurses for thirty patients is not safe by any standard.",
            "How do you cope?", "I sleep in the car before driving home for twenty minutes."]
    table.write_text("speaker,text\n" + "".join(f"{'Interviewer' if i % 2 == 0 else 'P6'},{t}\n"
                                                 for i, t in enumerate(said)), encoding="utf-8")
    add_files(project, [table])
    numbers = dict(project.conn.execute("SELECT text, idx FROM utterances WHERE document = 'T6'").fetchall())
    rows = tmp_path / "c.csv"
    rows.write_text(f"document,utterance,code\nT6,{numbers[said[3]]},relapse_stress\n", encoding="utf-8")
    import_codings(project, rows, "me")
    coded = project.conn.execute("SELECT u.text FROM codings c JOIN utterances u ON u.id = c.utterance").fetchall()
    assert [r[0] for r in coded] == [said[3]]
    out = tmp_path / "again.csv"
    export_csv(project.conn, out)
    import_codings(project, out, "me")   # the export goes back in unchanged
    assert coding_rows(project.conn)[0]["text"] == said[3]


@pytest.mark.skipif(not (SHARED / "psw-study").is_dir(), reason="../shared/psw-study is not here")
def test_reference_study_gold_codings_import_as_they_are(tmp_path):
    study = SHARED / "psw-study"
    p = Project.create(tmp_path / "psw")
    import_codebook(p, study / "codebook.yaml", "t")
    add_files(p, [study / "transcripts"])
    report = import_codings(p, study / "gold_codings.csv", "gold")
    assert report.rows == 1021 and not report.unmatched
    assert report.documents == sorted(f.stem for f in (study / "transcripts").glob("*.txt"))
    themes = {r[0] for r in p.conn.execute("SELECT DISTINCT c.theme FROM codes c JOIN codings g ON g.code = c.id")}
    assert len(themes) == 5


# -- an import that would only remove work is refused --------------------------------------------

def test_offsets_beyond_the_transcript_are_refused_and_change_nothing(demo_project, tmp_path):
    """Codings made on another version of a transcript (here every offset shifted past its end)
    would replace the coder's work on it with nothing: the import stops instead."""
    from conftest import snapshot

    from autocode.errors import AutocodeError

    rows = list(csv.DictReader((DATA / "codings" / "alice_D07.csv").open(encoding="utf-8")))
    shifted = tmp_path / "shifted.csv"
    with shifted.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({**r, "start": int(r["start"]) + 100_000, "end": int(r["end"]) + 100_000} for r in rows)
    before = snapshot(demo_project)
    with pytest.raises(AutocodeError) as err:
        import_codings(demo_project, shifted, "alice")
    assert err.value.problem.startswith(f"{len(rows)} row(s) end beyond the end of their transcript (rows 2, 3, 4")
    assert "'D07' has" in err.value.problem and "nothing was imported" in err.value.fix
    assert err.value.where == str(shifted) and snapshot(demo_project) == before


def test_one_row_beyond_the_end_names_its_row(demo_project, tmp_path):
    from autocode.errors import AutocodeError

    f = tmp_path / "one.csv"
    f.write_text("document,start,end,code\nD01,0,40,credibility\nD01,99999990,99999999,credibility\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match=r"1 row\(s\) end beyond the end of their transcript \(row 3; 'D01' has"):
        import_codings(demo_project, f, "carol")
    f.write_text("document,start,end,code\nD01,98,9999999,credibility\n", encoding="utf-8")   # starts inside, ends past
    with pytest.raises(AutocodeError, match=r"1 row\(s\) end beyond the end of their transcript \(row 2; 'D01' has"):
        import_codings(demo_project, f, "carol")


def test_a_file_none_of_whose_rows_lands_is_refused(project, tmp_path):
    """Spans inside the transcript that cover no utterance (here the line breaks between turns)."""
    from autocode.errors import AutocodeError

    t = tmp_path / "T.txt"
    t.write_text("Interviewer: Go on.\nP1: The pay is poor.\nInterviewer: Why?\nP1: Budgets.\n", encoding="utf-8")
    add_files(project, [t])
    text = t.read_text(encoding="utf-8")
    breaks = [i for i, ch in enumerate(text) if ch == "\n"][:2]
    f = tmp_path / "c.csv"
    f.write_text("document,start,end,code\n" + "".join(f"T,{i},{i + 1},credibility\n" for i in breaks), encoding="utf-8")
    with pytest.raises(AutocodeError, match="none of the 2 rows covers an utterance"):
        import_codings(project, f, "me")


def test_every_unknown_code_is_named_at_once(demo_project, tmp_path):
    from autocode.errors import AutocodeError

    f = tmp_path / "typos.csv"
    f.write_text("document,utterance,code\nD01,1,credibility\nD01,3,Hope and Recovry\nD01,5,credibilty\n",
                 encoding="utf-8")
    with pytest.raises(AutocodeError) as err:
        import_codings(demo_project, f, "carol")
    assert err.value.problem == ("2 rows name 2 code(s) that are not in the codebook ('Hope and Recovry' (did you "
                                 "mean 'Hope and recovery'?) (row 3); 'credibilty' (did you mean 'Credibility and "
                                 "rapport'?) (row 4))")
    assert "credibility" in err.value.fix


def test_csv_export_for_a_coder_with_no_codings_names_the_known_ones(demo_project, tmp_path):
    from autocode.errors import AutocodeError

    out = tmp_path / "n.csv"
    with pytest.raises(AutocodeError, match="no codings by coder 'nobody'") as err:
        export_csv(demo_project.conn, out, coder="nobody")
    assert err.value.fix == "use one of these coders: alice, bob" and not out.exists()


def test_a_semicolon_separated_codings_file_imports(demo_project, tmp_path):
    """European Excel's CSV: ';' between columns, and a ';' inside a quoted cell left alone."""
    f = tmp_path / "semi.csv"
    f.write_text('document;utterance;code;note\nD01;1;credibility;"a; b"\n', encoding="utf-8")
    assert import_codings(demo_project, f, "carol").codings == 1


def test_an_unknown_coder_is_told_the_people_and_the_machine_how_to_appear(demo_project):
    from autocode.codings import require_coder
    from autocode.errors import AutocodeError

    with pytest.raises(AutocodeError) as err:
        require_coder(demo_project.conn, "zed")
    assert err.value.fix == "use one of: alice, bob"
    with pytest.raises(AutocodeError) as err:
        require_coder(demo_project.conn, "machine")
    assert "autocode suggest" in err.value.fix


def test_several_mistyped_codes_each_get_a_suggestion(demo_project, tmp_path):
    from autocode.errors import AutocodeError

    f = tmp_path / "typo.csv"
    f.write_text("document,utterance,code\nD01,3,Unclear rol\nD01,4,Credibilty and raport\n", encoding="utf-8")
    with pytest.raises(AutocodeError) as err:
        import_codings(demo_project, f, "carol")
    assert "'Credibilty and raport' (did you mean 'Credibility and rapport'?) (row 3)" in err.value.problem


@pytest.mark.parametrize("content, coder, match", [
    ("document,start,end,code,text\nD01,0,40,credibility,Something the transcript never says\n", "carol",
     "row 2: its text \\('something the transcript never says'\\) is not the text at that place"),
    ("document,utterance,code\n", "carol", "a header but no rows"),
    ("document,utterance,start,end,code,text\nD01,,,,credibility,Some words\n", "carol",
     "row 2 says where it codes neither by an utterance number nor by start/end offsets"),
    ("document,utterance,code\nD01,1,credibility\n", "   ", "--coder is empty"),
    ("document,utterance,code\nD01,1,credibility\n", "machine", "'machine' is the name under which autocode keeps"),
])
def test_codings_that_would_land_wrong_or_nowhere_are_refused(demo_project, tmp_path, content, coder, match):
    f = tmp_path / "c.csv"
    f.write_text(content, encoding="utf-8")
    before = snapshot(demo_project)
    with pytest.raises(AutocodeError, match=match):
        import_codings(demo_project, f, coder)
    assert snapshot(demo_project) == before


def test_a_spreadsheet_and_a_utf16_file_without_its_mark_are_refused_with_how_to_save(demo_project, tmp_path):
    xlsx = tmp_path / "c.xlsx"
    xlsx.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(AutocodeError, match="CSV UTF-8"):
        import_codings(demo_project, xlsx, "carol")
    utf16 = tmp_path / "c.csv"
    utf16.write_bytes("document,utterance,code\nD01,1,credibility\n".encode("utf-16-le"))
    with pytest.raises(AutocodeError, match="UTF-16 without a byte-order mark"):
        import_codings(demo_project, utf16, "carol")


def test_add_codes_only_the_utterances_in_the_file(demo_project, tmp_path):
    rows = lambda: demo_project.conn.execute("SELECT u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance "  # noqa: E731
                                             "WHERE coder = 'alice' AND u.document = 'D01' ORDER BY u.idx, c.code").fetchall()
    before = rows()
    idx = before[0][0]
    f = tmp_path / "one.csv"
    f.write_text(f"document,utterance,code\nD01,{idx},credibility\n", encoding="utf-8")
    import_codings(demo_project, f, "alice", add=True)   # without --add, 94 codings would go: refused
    after = rows()
    assert [tuple(r) for r in after if r[0] != idx] == [tuple(r) for r in before if r[0] != idx]
    assert [tuple(r) for r in after if r[0] == idx] == [(idx, "credibility")]


def test_coder_option_refuses_a_file_of_several_coders(demo_project, tmp_path):
    f = tmp_path / "all.csv"
    f.write_text("document,utterance,code,coder\nD01,1,credibility,alice\nD01,2,credibility,machine\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match="--coder zed would put the codings of 2 coders \\(alice, machine\\)"):
        import_codings(demo_project, f, "zed")


def test_unknown_codes_are_each_named_once(demo_project, tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("document,utterance,code\n" + "".join(f"D01,{i},team_acceptence\n" for i in range(1, 12))
                 + "D01,12,evidence\n", encoding="utf-8")
    with pytest.raises(AutocodeError) as err:
        import_codings(demo_project, f, "carol")
    assert "12 rows name 2 code(s)" in err.value.problem and "'evidence'" in err.value.problem
