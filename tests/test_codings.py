"""Importing and exporting codings: span mapping, replacement, round trip, the reference study."""
from __future__ import annotations

import csv

import pytest

from autocode import Project, add_files, import_codings
from autocode.codings import overlapping
from autocode.export import COLUMNS, coding_rows, export_csv
from autocode.review import import_codebook
from conftest import DATA, SHARED


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
    import_codings(demo_project, f, "alice")
    n = demo_project.conn.execute("SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                                  "WHERE coder = 'alice' AND u.document = 'D01'").fetchone()[0]
    assert n == 1
    other = demo_project.conn.execute("SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                                      "WHERE coder = 'alice' AND u.document = 'D02'").fetchone()[0]
    assert other > 0


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
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(COLUMNS)
    fresh = Project.create(tmp_path / "fresh")
    import_codebook(fresh, DATA / "codebook.yaml", "t")
    add_files(fresh, sorted((DATA / "transcripts").glob("D0[1-7].txt")))
    import_codings(fresh, out)
    assert coding_rows(fresh.conn) == coding_rows(demo_project.conn)
    assert len(coding_rows(fresh.conn)) == n


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
