"""What leaves the project keeps the machine's reading apart from people's, and opens safely.

Suggestions a coder accepted in bulk, unread (``accept-suggestions --above``), are the
machine's reading under the coder's name: exports keep them marked, quote banks leave them
out, and a CSV cell that Excel would run as a formula stays text.
"""
from __future__ import annotations

import csv
import io
import zipfile

import pytest

from autocode import Project, confirm
from autocode.codings import import_codings
from autocode.export import code_quotes, export_csv, export_docx, export_xlsx, to_csv
from autocode.refi import UNREAD_USER, export_qdpx
from autocode.refi_import import import_qdpx
from conftest import DATA


@pytest.fixture
def accepted(review_project):
    """The review project, with alice having accepted D08's confident suggestions unread."""
    assert confirm.accept_above(review_project, 0.3, ["D08"], "alice")["accepted"] > 0
    return review_project


def _unread(p: Project) -> set[tuple]:
    return set(p.conn.execute("SELECT u.document, u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance "
                              "WHERE c.coder = 'alice' AND c.reason = ?", (confirm.UNREAD,)).fetchall())


def _fresh_with_transcripts(tmp_path) -> Project:
    from autocode.corpus import add_files
    from autocode.review import import_codebook

    p = Project.create(tmp_path / "fresh")
    import_codebook(p, DATA / "codebook.yaml", "tester")
    add_files(p, [DATA / "transcripts"])
    return p


def test_csv_keeps_suggestions_accepted_unread_marked_through_a_round_trip(accepted, tmp_path):
    marked = _unread(accepted)
    path = tmp_path / "alice.csv"
    export_csv(accepted.conn, path, "alice")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert sum(r["reason"] == confirm.UNREAD for r in rows) == len(marked)
    fresh = _fresh_with_transcripts(tmp_path)
    import_codings(fresh, path)
    assert _unread(fresh) == marked


def test_qdpx_puts_suggestions_accepted_unread_under_a_user_of_their_own_and_brings_them_back(accepted, tmp_path):
    marked = _unread(accepted)
    path = export_qdpx(accepted.conn, tmp_path / "p.qdpx")
    with zipfile.ZipFile(path) as z:
        assert f'name="alice{UNREAD_USER}"'.encode() in z.read("project.qde")
    fresh = Project.create(tmp_path / "fresh")
    report = import_qdpx(fresh, path)
    assert _unread(fresh) == marked and f"alice{UNREAD_USER}" not in report["coders"]


def test_quote_banks_never_quote_a_suggestion_accepted_unread(accepted, tmp_path):
    from autocode.report import participants, quote_bank
    from autocode.codebook import load

    unread = {(d, i) for d, i, _ in _unread(accepted)}
    quoted = {(q.document, q.idx) for qs in code_quotes(accepted.conn, "alice").values() for q in qs}
    assert quoted and not quoted & unread
    bank = quote_bank(accepted.conn, load(accepted.conn), "alice", participants(accepted.conn))
    assert all(q["document"] != "D08" for t in bank for c in t["codes"] for q in c["quotes"])
    assert export_docx(accepted.conn, tmp_path / "q.docx", "alice").exists()


def test_a_cell_excel_would_run_as_a_formula_stays_text_and_comes_back_as_written():
    from autocode.codings import _formula_apostrophe_off

    text = to_csv([{"document": "D01", "text": "=HYPERLINK(\"http://x\")"}, {"document": "D01", "text": "-1 for me"},
                   {"document": "D01", "text": "@SUM(A1)"}, {"document": "D01", "text": "I said +1"}], ["document", "text"])
    cells = [r["text"] for r in csv.DictReader(io.StringIO(text))]
    assert cells == ["'=HYPERLINK(\"http://x\")", "'-1 for me", "'@SUM(A1)", "I said +1"]
    assert [_formula_apostrophe_off(c) for c in cells] == ["=HYPERLINK(\"http://x\")", "-1 for me", "@SUM(A1)", "I said +1"]
    assert to_csv([{"v": "-0.036\u20131.000"}, {"v": "-2.5"}], ["v"]).split("\n")[1:3] == ["-0.036\u20131.000", "-2.5"]


def test_workbook_theme_sheets_hold_participants_words_only(demo_project, tmp_path):
    from openpyxl import load_workbook

    uid = demo_project.conn.execute("SELECT id FROM utterances WHERE is_interviewer = 1 LIMIT 1").fetchone()[0]
    demo_project.conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, 'credibility', "
                              "'alice', 'now')", (uid,))
    demo_project.conn.commit()
    text = demo_project.conn.execute("SELECT text FROM utterances WHERE id = ?", (uid,)).fetchone()[0]
    wb = load_workbook(export_xlsx(demo_project.conn, tmp_path / "x.xlsx", "alice"))
    sheet = wb[wb.sheetnames[1]]
    assert text not in [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_word_quote_bank_cites_two_voices_of_a_focus_group_apart(project, tmp_path):
    from docx import Document

    from autocode.corpus import add_files

    f = tmp_path / "F01.txt"
    f.write_text("Facilitator: What do peer workers bring?\n"
                 "Anna: They bring real hope to people who have been unwell for a very long time, and who had "
                 "stopped believing that things could ever get better for them at all.\n"
                 "Ben: They earn the trust of patients quickly, because patients know that they have been through "
                 "the same kind of experience and come out the other side of it.\n", encoding="utf-8")
    add_files(project, [f], interviewer=("Facilitator",))
    project.conn.execute("INSERT INTO codings (utterance, code, coder, created_at) SELECT id, 'hope_recovery', 'alice', 'now' "
                         "FROM utterances WHERE is_interviewer = 0")
    project.conn.commit()
    paragraphs = [p.text for p in Document(export_docx(project.conn, tmp_path / "q.docx", "alice")).paragraphs]
    cites = sorted(p.rsplit("(", 1)[1] for p in paragraphs if p.startswith("\u201c"))
    assert cites == ["1a)", "1b)"]   # as the HTML report cites them, not both "(1)"
    assert any("cited by its transcript's number, as (1) for F01" in p for p in paragraphs)


def test_word_quote_bank_says_it_cites_whole_ids_where_they_hold_no_number(project, tmp_path):
    from docx import Document

    from autocode.corpus import add_files

    f = tmp_path / "Ward visit.txt"
    f.write_text("Interviewer: What do peer workers bring?\nDr Rao: They bring real hope to people who have been "
                 "unwell for a very long time.\n", encoding="utf-8")
    add_files(project, [f], interviewer=("Interviewer",))
    project.conn.execute("INSERT INTO codings (utterance, code, coder, created_at) SELECT id, 'hope_recovery', 'alice', 'now' "
                         "FROM utterances WHERE is_interviewer = 0")
    paragraphs = [p.text for p in Document(export_docx(project.conn, tmp_path / "q.docx", "alice")).paragraphs]
    assert any("cited by its transcript's id, as (Ward visit)" in p for p in paragraphs)
    assert [p.rsplit("(", 1)[1] for p in paragraphs if p.startswith("\u201c")] == ["Ward visit)"]


def test_report_gives_agreement_without_the_utterances_accepted_unread(accepted):
    """alice's unread acceptances are the machine's reading: the report says how far she and the
    machine agree without them, beside the figure that includes them."""
    from autocode.report import render_html, report_data

    pairs = {tuple(p["coders"]): p for p in report_data(accepted, "alice", learning_curve=False)["agreement"]["pairs"]}
    mine = pairs[("alice", "machine")]
    assert mine["without_unread"] is not None
    assert mine["without_unread"]["n_units"] == mine["n_units"] - confirm.unread_overlap(accepted.conn, "alice", "machine")
    assert "Leaving out the utterances accepted unread" in render_html(report_data(accepted, "alice", learning_curve=False))


def test_report_says_so_when_a_coder_has_only_suggestions_accepted_unread(review_project, tmp_path):
    from autocode.report import render_html, report_data

    confirm.accept_above(review_project, 0.0, ["D08"], "zoe")
    page = render_html(report_data(review_project, "zoe", learning_curve=False))
    assert "nothing is left that both coded" in page
