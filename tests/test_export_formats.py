"""Exporting to Excel (codings, quotes by theme, codebook) and Word (a quote bank for a paper).

Each test opens the written file with the library a reader would use and checks it against the
project's database, so the numbers in the file are the numbers in the project.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from autocode import codebook as cb
from autocode.errors import AutocodeError
from autocode.corpus import participant_numbers
from autocode.export import (COLUMNS, CODEBOOK_COLUMNS, MACHINE, QUOTE_COLUMNS, Quote, export_docx, export_xlsx,
                             pick_quotes, quotation, sheet_titles, write_file)
from autocode.learn import MACHINE as LEARN_MACHINE

QUOTE = re.compile(r"^\u201c(.+)\u201d \((.+)\)$", re.S)


def count(conn, sql: str, *args) -> int:
    return conn.execute(sql, args).fetchone()[0]


def table(ws) -> tuple[list, list[list]]:
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def add_machine_coding(conn, code: str = "credibility") -> str:
    """Code, as the machine, a participant utterance no person gave a code; returns its text."""
    uid, text = conn.execute(
        "SELECT u.id, u.text FROM utterances u WHERE u.is_interviewer = 0 AND length(u.text) > 80"
        " AND NOT EXISTS (SELECT 1 FROM codings c WHERE c.utterance = u.id AND c.code != '')"
        " ORDER BY u.document, u.idx LIMIT 1").fetchone()
    conn.execute("INSERT INTO codings (utterance, code, coder, confidence, reason, created_at)"
                 " VALUES (?, ?, ?, 0.9, 'test', '2024-01-01')", (uid, code, MACHINE))
    return text


def docx_outline(path: Path) -> list[tuple[str, str]]:
    """(style, text) for every paragraph, in order."""
    return [(p.style.name, p.text) for p in Document(str(path)).paragraphs]


def quotes_by_code(path: Path, book: cb.Codebook) -> dict[str, list[tuple[str, str]]]:
    """code id -> [(quote text, participant label)] read back from the quote bank."""
    by_name = {c.name: c.id for c in book.codes}
    out, current = {}, None
    for style, text in docx_outline(path):
        if style == "Heading 2":
            current = by_name[text]
            out[current] = []
        elif style == "Heading 1":
            current = None
        elif (m := QUOTE.match(text)) and current:
            out[current].append((m[1], m[2]))
    return out


def coded_texts(conn, code: str, coder: str | None = None) -> dict[str, set[str]]:
    """Text -> documents of participant utterances given ``code`` (by people, or by ``coder``)."""
    who, arg = ("c.coder = ?", coder) if coder else ("c.coder != ?", MACHINE)
    rows = conn.execute(
        "SELECT u.text, u.document FROM codings c JOIN utterances u ON u.id = c.utterance"
        f" WHERE c.code = ? AND u.is_interviewer = 0 AND {who}", (code, arg)).fetchall()
    out: dict[str, set[str]] = {}
    for text, doc in rows:
        out.setdefault(quotation(text), set()).add(doc)   # as the quote bank prints it
    return out


# -- Excel ---------------------------------------------------------------------------------------

def test_xlsx_has_codings_a_sheet_per_theme_and_the_codebook(demo_project, tmp_path):
    conn = demo_project.conn
    book = cb.load(conn)
    out = export_xlsx(conn, tmp_path / "codings.xlsx")
    assert out == tmp_path / "codings.xlsx"
    wb = load_workbook(out)
    assert wb.sheetnames == ["Codings", *[t.name for t in book.themes], "Codebook"]
    assert len(book.themes) == count(conn, "SELECT COUNT(*) FROM themes") == 5

    header, rows = table(wb["Codings"])
    assert header == COLUMNS
    assert len(rows) == count(conn, "SELECT COUNT(*) FROM codings") > 0
    col = {name: COLUMNS.index(name) for name in COLUMNS}
    got = {(r[0], r[1], r[col["code"]] or "", r[col["coder"]]) for r in rows}
    want = set(map(tuple, conn.execute("SELECT u.document, u.idx, c.code, c.coder FROM codings c"
                                       " JOIN utterances u ON u.id = c.utterance").fetchall()))
    assert got == want
    assert {r[col["coder"]] for r in rows} == {"alice", "bob"}
    names = {c.id: (c.name, book.find_theme(c.theme).name) for c in book.codes}
    assert {(r[col["code name"]], r[col["theme name"]]) for r in rows if r[col["code"]]} \
        == {names[r[col["code"]]] for r in rows if r[col["code"]]}


def test_xlsx_theme_sheets_hold_that_themes_quotes(demo_project, tmp_path):
    conn = demo_project.conn
    book = cb.load(conn)
    wb = load_workbook(export_xlsx(conn, tmp_path / "c.xlsx"))
    for theme in book.themes:
        header, rows = table(wb[theme.name])
        assert header == QUOTE_COLUMNS
        n = count(conn, "SELECT COUNT(*) FROM codings c JOIN codes k ON k.id = c.code WHERE k.theme = ?", theme.id)
        assert len(rows) == n > 0, theme.id
        names = [c.name for c in theme.codes]
        assert {r[0] for r in rows} <= set(names)
        assert [names.index(r[0]) for r in rows] == sorted(names.index(r[0]) for r in rows)  # codebook order
        texts = {t for (t,) in conn.execute("SELECT u.text FROM codings c JOIN utterances u ON u.id = c.utterance"
                                            " JOIN codes k ON k.id = c.code WHERE k.theme = ?", (theme.id,))}
        assert {r[3] for r in rows} == texts


def test_xlsx_codebook_sheet_lists_every_code_with_its_count(demo_project, tmp_path):
    conn = demo_project.conn
    wb = load_workbook(export_xlsx(conn, tmp_path / "c.xlsx"))
    header, rows = table(wb["Codebook"])
    assert header == CODEBOOK_COLUMNS
    want = conn.execute("SELECT t.id, t.name, k.id, k.name, k.definition,"
                        " (SELECT COUNT(*) FROM codings c WHERE c.code = k.id)"
                        " FROM codes k JOIN themes t ON t.id = k.theme ORDER BY t.position, k.position").fetchall()
    assert len(rows) == 17
    assert [tuple(r) for r in rows] == [tuple(w) for w in want]
    assert sum(r[5] for r in rows) == count(conn, "SELECT COUNT(*) FROM codings WHERE code != ''")


def test_xlsx_is_formatted_for_reading(demo_project, tmp_path):
    wb = load_workbook(export_xlsx(demo_project.conn, tmp_path / "c.xlsx"))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1]), ws.title
    codings = wb["Codings"]
    text_col = COLUMNS.index("text") + 1
    assert codings.cell(2, text_col).alignment.wrap_text
    assert codings.column_dimensions["F"].width >= 60
    assert 5 <= codings.column_dimensions["A"].width <= 40


CODE, CODER = COLUMNS.index("code"), COLUMNS.index("coder")


def test_xlsx_coder_filter_and_machine_only_by_name(demo_project, tmp_path):
    conn = demo_project.conn
    add_machine_coding(conn)
    _, rows = table(load_workbook(export_xlsx(conn, tmp_path / "all.xlsx"))["Codings"])
    assert MACHINE not in {r[CODER] for r in rows}
    assert len(rows) == count(conn, "SELECT COUNT(*) FROM codings WHERE coder != 'machine'")

    _, bob = table(load_workbook(export_xlsx(conn, tmp_path / "bob.xlsx", coder="bob"))["Codings"])
    assert {r[CODER] for r in bob} == {"bob"}
    assert len(bob) == count(conn, "SELECT COUNT(*) FROM codings WHERE coder = 'bob'")
    _, book = table(load_workbook(tmp_path / "bob.xlsx")["Codebook"])
    assert {r[2]: r[5] for r in book if r[5]} == dict(conn.execute(
        "SELECT code, COUNT(*) FROM codings WHERE coder = 'bob' AND code != '' GROUP BY code").fetchall())

    _, machine = table(load_workbook(export_xlsx(conn, tmp_path / "m.xlsx", coder=MACHINE))["Codings"])
    assert [(r[CODE], r[CODER], r[CODER + 1]) for r in machine] == [("credibility", MACHINE, 0.9)]


def test_sheet_titles_are_valid_and_unique():
    titles = sheet_titles(["Who? What: [roles]/tasks\\ and a very long name indeed", "codings", "A" * 40,
                           "a" * 40, "'quoted'", "", "Cost", "cost"])
    assert titles == ["Who- What- -roles--tasks- and a", "codings (2)", "A" * 31, "a" * 27 + " (2)",
                      "quoted", "Theme", "Cost", "cost (2)"]
    assert all(len(t) <= 31 and not set(t) & set("[]:*?/\\") for t in titles)
    assert len({t.lower() for t in titles}) == len(titles)


def test_xlsx_with_awkward_theme_names_and_text(demo_project, tmp_path):
    conn = demo_project.conn
    ids = [t.id for t in cb.load(conn).themes]
    for tid in ids[:2]:  # two themes given the same long name with characters Excel refuses
        conn.execute("UPDATE themes SET name = ? WHERE id = ?", ("Role: who does what? [A/B] \\ long name", tid))
    uid = conn.execute("SELECT id FROM utterances WHERE document = 'D01' AND is_interviewer = 0 LIMIT 1").fetchone()[0]
    conn.execute("UPDATE utterances SET text = ? WHERE id = ?", ("=HYPERLINK(\"http://x\")\x0bline two", uid))
    conn.execute("INSERT OR IGNORE INTO codings (utterance, code, coder, created_at) VALUES (?, 'credibility', 'alice', 'now')", (uid,))

    wb = load_workbook(export_xlsx(conn, tmp_path / "c.xlsx"))
    assert wb.sheetnames[1:3] == ["Role- who does what- -A-B- - lo", "Role- who does what- -A-B- (2)"]
    cells = [c for row in wb["Codings"].iter_rows() for c in row if str(c.value).startswith("=HYPERLINK")]
    assert cells and all(c.data_type == "s" and c.value == "=HYPERLINK(\"http://x\") line two" for c in cells)
    export_docx(conn, tmp_path / "q.docx")  # the control character does not break Word either


# -- Word ----------------------------------------------------------------------------------------

def test_docx_headings_follow_the_codebook(demo_project, tmp_path):
    conn = demo_project.conn
    book = cb.load(conn)
    out = export_docx(conn, tmp_path / "quotes.docx")
    assert out == tmp_path / "quotes.docx"
    outline = docx_outline(out)
    headings = [(s, t) for s, t in outline if s in ("Heading 1", "Heading 2")]
    want = [h for t in book.themes for h in [("Heading 1", t.name), *[("Heading 2", c.name) for c in t.codes]]]
    assert headings == want
    paragraphs = Document(str(out)).paragraphs
    for i, p in enumerate(paragraphs):  # each theme's definition follows it, in italics
        if p.style.name == "Heading 1":
            theme = book.find_theme(p.text)
            assert paragraphs[i + 1].text == theme.definition
            assert all(r.italic for r in paragraphs[i + 1].runs)


def test_docx_quotes_are_real_coded_utterances_cited_by_participant(demo_project, tmp_path):
    conn = demo_project.conn
    book = cb.load(conn)
    quotes = quotes_by_code(export_docx(conn, tmp_path / "q.docx"), book)
    assert set(quotes) == {c.id for c in book.codes}
    assert any(len(q) == 5 for q in quotes.values())
    labels = set()
    for code, found in quotes.items():
        real = coded_texts(conn, code)
        assert len(found) <= 5
        assert len(found) == min(5, len(real)), code
        assert len({t for t, _ in found}) == len(found)
        for text, label in found:
            assert text in real, (code, text)
            assert label in {str(int(d[1:])) for d in real[text]}, (code, text, label)
            labels.add(label)
    assert labels == {str(n) for n in range(1, 8)}  # every participant is heard somewhere in the bank
    assert "(1)" in "\n".join(t for _, t in docx_outline(tmp_path / "q.docx"))


def test_docx_prefers_well_sized_quotes_from_different_participants(demo_project, tmp_path):
    conn = demo_project.conn
    quotes = quotes_by_code(export_docx(conn, tmp_path / "q.docx"), cb.load(conn))
    for code, found in quotes.items():
        real = coded_texts(conn, code)
        fits = {t for t in real if 15 <= len(t.split()) <= 60}
        chosen_fit = [(t, lbl) for t, lbl in found if t in fits]
        assert len(chosen_fit) == min(5, len(fits)), code  # a well-sized quote is never passed over
        voices = {d for t in fits for d in real[t]}
        assert len({lbl for _, lbl in chosen_fit}) == min(len(chosen_fit), len(voices)), code


def test_docx_skips_no_code_and_interviewer_utterances(demo_project, tmp_path):
    conn = demo_project.conn
    uid, text = conn.execute("SELECT id, text FROM utterances WHERE is_interviewer = 1 AND length(text) > 80"
                             " ORDER BY id LIMIT 1").fetchone()
    conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, 'credibility', 'alice', 'now')", (uid,))
    conn.execute("DELETE FROM codings WHERE code = 'credibility' AND utterance != ?", (uid,))
    quotes = quotes_by_code(export_docx(conn, tmp_path / "q.docx"), cb.load(conn))
    assert quotes["credibility"] == []
    assert "No quotes coded." in [t for _, t in docx_outline(tmp_path / "q.docx")]
    assert " ".join(text.split()) not in {t for found in quotes.values() for t, _ in found}


def test_docx_coder_filter_and_machine_only_by_name(demo_project, tmp_path):
    conn = demo_project.conn
    book = cb.load(conn)
    machine_text = " ".join(add_machine_coding(conn).split())
    everyone = quotes_by_code(export_docx(conn, tmp_path / "all.docx"), book)
    assert machine_text not in {t for found in everyone.values() for t, _ in found}

    bob = quotes_by_code(export_docx(conn, tmp_path / "bob.docx", coder="bob"), book)
    assert any(bob.values()) and bob != everyone
    for code, found in bob.items():
        real = coded_texts(conn, code, "bob")
        assert len(found) == min(5, len(real)) and all(t in real for t, _ in found), code
    assert "Coded by bob." in {t.split(" Up to")[0] for _, t in docx_outline(tmp_path / "bob.docx")}

    machine = quotes_by_code(export_docx(conn, tmp_path / "m.docx", coder=MACHINE), book)
    assert {c: q for c, q in machine.items() if q} == {"credibility": [(machine_text, machine["credibility"][0][1])]}


def test_pick_quotes_prefers_fitting_length_then_new_participants():
    def q(doc, idx, words, speaker="P", coders=1):
        return Quote("c", doc, idx, speaker, " ".join(["word"] * words), coders)
    a1, a2, a3 = q("A", 1, 20), q("A", 2, 20), q("A", 3, 20)
    b_short, c_fit, d_long, e_fit2 = q("B", 1, 3), q("C", 1, 30), q("D", 1, 90), q("E", 1, 15, coders=2)
    picked = pick_quotes([a1, a2, a3, b_short, c_fit, d_long, e_fit2])
    assert picked == [a1, a2, a3, c_fit, e_fit2]       # well-sized quotes first, even from a repeat voice
    assert pick_quotes([a1, a2, c_fit, e_fit2], n=3) == [a1, c_fit, e_fit2]  # one per voice before repeats
    assert pick_quotes([a1, a2, a3, c_fit], n=2) == [a1, c_fit]
    assert pick_quotes([b_short, d_long, a1], n=2) == [q("A", 1, 20), b_short]  # then the rest, new voices first
    assert pick_quotes([q("A", 1, 20), q("A", 2, 20, coders=2)], n=1) == [q("A", 2, 20, coders=2)]  # agreement wins
    assert pick_quotes([a1, c_fit, e_fit2], n=2, quoted=Counter({("E", "P"): 3})) == [a1, e_fit2]  # agreement first
    assert pick_quotes([a1, c_fit, q("E", 1, 15)], n=2, quoted=Counter({("A", "P"): 3})) == [c_fit, q("E", 1, 15)]
    assert pick_quotes([]) == []


@pytest.mark.parametrize("text, printed", [
    ("They help. A lot.", "They help. A lot."), ("Yes!", "Yes!"), ('I said "no."', 'I said "no."'),
    ("and then  the team,\nyou know,", "and then the team, you know\u2026"),
    ("It depends on the ward \u2014", "It depends on the ward\u2026"), ("It helped (a lot)", "It helped (a lot)"),
    ("yeah I think so", "yeah I think so"), ("", "")])
def test_a_quote_cut_mid_sentence_is_marked_so(text, printed):
    """Long turns are cut at clause boundaries: a paper must not print a part as a whole sentence."""
    assert quotation(text) == printed


def test_participant_labels():
    docs = ["D07", "P12", "interview_3", "007", "focus-group", "P1_followup"]
    assert participant_numbers(docs) == {d: d for d in docs}   # 7 twice, and one id with no number: all whole
    assert participant_numbers(["P12", "interview_3", "P1_followup"]) == {"P12": "12", "interview_3": "3",
                                                                        "P1_followup": "1"}
    assert participant_numbers(["D01", "D02"]) == {"D01": "1", "D02": "2"}
    assert participant_numbers(["P1", "D1"]) == {"P1": "P1", "D1": "D1"}  # numbers alone would be ambiguous
    assert MACHINE == LEARN_MACHINE


# -- nothing to export, and safe writing ----------------------------------------------------------

@pytest.mark.parametrize("export", [export_xlsx, export_docx])
def test_empty_project_gives_a_plain_error_and_writes_nothing(project, tmp_path, export):
    out = tmp_path / f"out.{export.__name__[-4:]}"
    with pytest.raises(AutocodeError) as err:
        export(project.conn, out)
    assert type(err.value) is AutocodeError
    message = str(err.value)
    assert str(out) in message and "nothing to export" in message
    assert "What to do: import codings first" in message and "Traceback" not in message
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("export", [export_xlsx, export_docx])
def test_unknown_coder_names_the_known_ones(demo_project, tmp_path, export):
    out = tmp_path / "out.file"
    with pytest.raises(AutocodeError, match="no .* by coder 'carol'") as err:
        export(demo_project.conn, out, coder="carol")
    assert err.value.fix == "use one of these coders: alice, bob" and err.value.where == str(out)
    assert not out.exists()


def test_only_machine_codings_say_how_to_export_them(demo_project, tmp_path):
    conn = demo_project.conn
    add_machine_coding(conn)
    conn.execute("DELETE FROM codings WHERE coder != 'machine'")
    with pytest.raises(AutocodeError) as err:
        export_xlsx(conn, tmp_path / "c.xlsx")
    assert "--coder machine" in err.value.fix
    assert export_xlsx(conn, tmp_path / "c.xlsx", coder=MACHINE).exists()


def test_bad_target_is_a_plain_error(demo_project, tmp_path):
    with pytest.raises(AutocodeError, match="is a folder"):
        export_xlsx(demo_project.conn, tmp_path)
    with pytest.raises(AutocodeError, match="the folder does not exist"):
        export_docx(demo_project.conn, tmp_path / "nowhere" / "q.docx")


def test_failed_save_leaves_the_old_file_and_no_temporary_one(tmp_path):
    out = tmp_path / "c.xlsx"
    out.write_text("old", encoding="utf-8")

    def broken(path):
        Path(path).write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(AutocodeError, match="could not write the file \\(disk full\\)"):
        write_file(out, broken)
    assert out.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["c.xlsx"]


def test_csv_opens_in_excel_as_utf8(demo_project, tmp_path):
    """Excel on Windows reads a CSV as UTF-8 only when it starts with the byte-order mark."""
    from autocode.export import export_csv

    out = tmp_path / "codings.csv"
    export_csv(demo_project.conn, out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbfdocument,")


@pytest.mark.parametrize("name", ["codings.xls", "codings.pdf"])
def test_a_file_name_autocode_cannot_write_is_refused(name):
    from autocode.cli import export_format

    with pytest.raises(AutocodeError) as err:
        export_format(None, Path(name))
    assert err.value.problem == f"autocode does not write {Path(name).suffix} files ({name})"
    assert ".xlsx" in err.value.fix
    assert export_format("csv", Path(name)) == "csv" and export_format(None, Path("codings")) == "csv"
