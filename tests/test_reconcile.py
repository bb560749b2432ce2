"""Consensus coding after double coding: reconciling two coders, and settling the rest from
the meeting's sheet."""
from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from autocode.cli import app
from autocode.compare import compare_project
from autocode.errors import AutocodeError
from autocode.reconcile import AGREED, reconcile, settle, sheet_columns
from autocode.undo import undo

from conftest import snapshot


def cli(p, *args):
    return CliRunner().invoke(app, [*map(str, args), "--project", str(p.root)], env={"COLUMNS": "300"})


def flat(text: str) -> str:
    return " ".join(text.split())


def sets_of(p, coder: str) -> dict[int, frozenset]:
    out: dict[int, set] = {}
    for uid, code in p.conn.execute("SELECT utterance, code FROM codings WHERE coder = ?", (coder,)):
        out.setdefault(uid, set()).add(code)
    return {u: frozenset(c) for u, c in out.items()}


def read_sheet(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def write_sheet(path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_agreed_utterances_become_the_consensus_and_the_rest_are_listed(demo_project):
    p = demo_project
    alice, bob = sets_of(p, "alice"), sets_of(p, "bob")
    r = reconcile(p, ["alice", "bob"], decided_by="tester")
    both = alice.keys() & bob.keys()
    assert sets_of(p, "consensus") == {u: alice[u] for u in both if alice[u] == bob[u]}
    assert r["agreed"] == sum(alice[u] == bob[u] for u in both) > 100
    assert r["documents"] == ["D01", "D04"]   # only the transcripts both coded
    # what is left to settle is exactly what compare lists as disagreements
    listed = {(d["document"], str(d["unit"])) for d in compare_project(p, ["alice", "bob"])["disagreements"]}
    assert {(row["document"], str(row["utterance"])) for row in r["to_settle"]} == listed
    row = r["to_settle"][0]
    assert row["alice"] != row["bob"] and row[AGREED] == "" and row["before"] and row["speaker"]


def test_an_utterance_one_coder_left_uncoded_is_counted_as_missing_not_listed(demo_project):
    """As compare counts it: a coder who coded by accepting candidates leaves most utterances
    uncoded, and listing each would bury the disagreements."""
    p = demo_project
    uid = next(u for u, codes in sets_of(p, "bob").items() if codes == sets_of(p, "alice").get(u) and "" not in codes)
    with p.transaction() as conn:
        conn.execute("DELETE FROM codings WHERE coder = 'bob' AND utterance = ?", (uid,))
    r = reconcile(p, ["alice", "bob"])
    place = tuple(p.conn.execute("SELECT document, idx FROM utterances WHERE id = ?", (uid,)).fetchone())
    assert uid not in sets_of(p, "consensus") and place not in {(row["document"], row["utterance"]) for row in r["to_settle"]}
    assert r["partly"] == {"bob": sum(1 for u in sets_of(p, "alice") if u not in sets_of(p, "bob")
                                          and p.conn.execute("SELECT document FROM utterances WHERE id = ?", (u,))
                                          .fetchone()[0] in ("D01", "D04"))}


def test_suggestions_accepted_unread_are_never_agreed_unseen(demo_project):
    from autocode.confirm import UNREAD

    p = demo_project
    alike = [u for u, codes in sets_of(p, "bob").items() if codes == sets_of(p, "alice").get(u)][:3]
    with p.transaction() as conn:
        conn.executemany("UPDATE codings SET reason = ? WHERE coder = 'alice' AND utterance = ?", [(UNREAD, u) for u in alike])
    r = reconcile(p, ["alice", "bob"])
    assert not set(alike) & set(sets_of(p, "consensus")) and r["unread"] == 3
    marked = [row for row in r["to_settle"] if row["alice"].endswith("(accepted unread)")]
    assert len(marked) == 3 and all(row["alice"].replace(" (accepted unread)", "") == row["bob"] for row in marked)


def test_reconciling_again_keeps_what_the_consensus_has_and_undo_takes_it_back(demo_project):
    p = demo_project
    before = snapshot(p)
    first = reconcile(p, ["alice", "bob"])
    after_first = sets_of(p, "consensus")
    again = reconcile(p, ["alice", "bob"])
    assert again["agreed"] == 0 and again["already"] == first["agreed"]
    assert sets_of(p, "consensus") == after_first and len(again["to_settle"]) == len(first["to_settle"])
    undo(p)
    assert snapshot(p)["codings"] == before["codings"]


def test_the_meetings_sheet_settles_by_name_id_several_codes_or_none(demo_project, tmp_path):
    p = demo_project
    sheet = tmp_path / "to_settle.csv"
    result = cli(p, "reconcile", "alice", "bob", "--sheet", sheet)
    assert result.exit_code == 0, result.output
    assert "autocode settle" in flat(result.output)
    rows = read_sheet(sheet)
    assert list(rows[0]) == sheet_columns(["alice", "bob"])
    several = next(i for i, r in enumerate(rows) if " + " in r["alice"])
    rows[several][AGREED] = rows[several]["alice"]               # copied from a coder's cell: two names
    rows[0][AGREED] = "credibility"                               # an id
    rows[1][AGREED] = "  NONE "                                   # no code, as typed in a meeting
    rows[2][AGREED] = "stress and risk of relapse; Boundaries and disclosure"   # names, any case, ';'
    write_sheet(sheet, rows)
    result = cli(p, "settle", sheet)
    assert result.exit_code == 0, result.output
    assert f"Settled 4 utterance(s)" in flat(result.output) and f"{len(rows) - 4} row(s) were left empty" in flat(result.output)
    uid = lambda row: p.conn.execute("SELECT id FROM utterances WHERE document = ? AND idx = ?",  # noqa: E731
                                     (row["document"], int(row["utterance"]))).fetchone()[0]
    mine = sets_of(p, "consensus")
    assert mine[uid(rows[0])] == {"credibility"} and mine[uid(rows[1])] == {""}
    assert mine[uid(rows[2])] == {"relapse_stress", "boundaries_disclosure"}
    assert len(mine[uid(rows[several])]) == 2
    left = reconcile(p, ["alice", "bob"])["to_settle"]
    assert len(left) == len(rows) - 4   # the settled rows are no longer open
    assert "settling 4 utterances" in flat(cli(p, "undo").output)
    assert uid(rows[0]) not in sets_of(p, "consensus")


@pytest.mark.parametrize("change, words", [
    (lambda rows: rows[3].update({AGREED: "Stress and risk of relaps"}), "row 5: unknown code 'Stress and risk of relaps' (did you mean 'Stress and risk of relapse'?)"),
    (lambda rows: rows[0].update({"text": "Something else was said here."}), "row 2: its text"),
    (lambda rows: rows[0].update({"document": "d01"}), "did you mean 'D01'?"),
    (lambda rows: None, "no row has an agreed code"),
    (lambda rows: [r.pop(AGREED) for r in rows], "missing column(s): agreed code"),
    (lambda rows: rows[1].update({AGREED: "(not coded)"}), "row 3: '(not coded)' is what the sheet writes"),
])
def test_a_sheet_that_cannot_be_settled_changes_nothing(demo_project, tmp_path, change, words):
    p = demo_project
    reconcile(p, ["alice", "bob"])
    rows = reconcile(p, ["alice", "bob"])["to_settle"]
    rows = [{k: str(v) for k, v in r.items()} for r in rows]
    rows[0][AGREED] = "credibility"
    change(rows)
    if words == "no row has an agreed code":
        rows[0][AGREED] = ""
    sheet = tmp_path / "s.csv"
    write_sheet(sheet, rows)
    before = snapshot(p)
    result = cli(p, "settle", sheet)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert words in flat(result.output) and str(sheet) in flat(result.output)
    assert snapshot(p) == before


@pytest.mark.parametrize("args, words", [
    (["alice"], "needs two or more coders"),
    (["alice", "bob", "--into", "bob"], "--into 'bob' is one of the coders"),
    (["alice", "bob", "--into", "machine"], "'machine' is the name under which"),
    (["alice", "carol"], "coder 'carol' has no codings"),
    (["alice", "bob", "--documents", "D02"], "have not coded any transcript in common among D02"),
    (["alice", "alice", "bob"], "'alice' is named twice"),
    (["alice", "bob", "--into", "demo-reviewer"], "'demo-reviewer' has codings of their own, not made by reconciling"),
])
def test_cli_refusals_say_what_to_do_and_change_nothing(demo_project, args, words):
    with demo_project.transaction() as conn:   # a coder with codings of their own
        conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES "
                     "((SELECT min(id) FROM utterances), 'credibility', 'demo-reviewer', '2026-01-01')")
    before = snapshot(demo_project)
    result = cli(demo_project, "reconcile", *args)
    assert result.exit_code == 1 and words in flat(result.output) and "What to do" in result.output
    assert snapshot(demo_project) == before


def test_compare_points_to_reconcile_for_people_only(demo_project):
    people = flat(cli(demo_project, "compare", "alice", "bob").output)
    assert "autocode reconcile alice bob --sheet to_settle.csv" in people
    with pytest.raises(AutocodeError):
        reconcile(demo_project, ["alice", "alice"])


def test_fleiss_kappa_says_it_counts_only_units_every_coder_coded(demo_project):
    r = reconcile(demo_project, ["alice", "bob"])
    overall = compare_project(demo_project, ["alice", "bob", "consensus"])["overall"]
    full = r["agreed"]   # the consensus has coded only what both agreed on
    assert f"Fleiss' kappa counts only the {full} of these {overall['n_units']} units that all 3 coders coded" in overall["notes"][0]


def test_settling_refuses_to_overwrite_a_coder_the_sheet_reconciles(demo_project, tmp_path):
    p = demo_project
    sheet = tmp_path / "s.csv"
    cli(p, "reconcile", "alice", "bob", "--sheet", sheet)
    rows = read_sheet(sheet)
    rows[0][AGREED] = rows[0]["alice"] + " (accepted unread)"   # a coder's cell copied across, mark and all
    write_sheet(sheet, rows)
    before = snapshot(p)
    result = cli(p, "settle", sheet, "--into", "Alice")
    assert result.exit_code == 1 and "--into 'Alice' is one of the coders this sheet reconciles" in flat(result.output)
    assert snapshot(p) == before
    assert cli(p, "settle", sheet).exit_code == 0


def test_a_sheet_naming_a_removed_transcript_says_it_was_removed(demo_project, tmp_path):
    from autocode.withdraw import remove_documents

    p = demo_project
    sheet = tmp_path / "s.csv"
    cli(p, "reconcile", "alice", "bob", "--sheet", sheet)
    rows = read_sheet(sheet)
    row = next(r for r in rows if r["document"] == "D04")
    row[AGREED] = "none"
    write_sheet(sheet, [row])
    remove_documents(p, ["D04"])
    result = cli(p, "settle", sheet)
    assert result.exit_code == 1 and "transcript 'D04' was removed from the project" in flat(result.output)


# -- once a consensus exists ------------------------------------------------------------------------

def test_with_a_consensus_the_report_describes_it_and_leads_with_its_coders_agreement(demo_project):
    from autocode.report import agreement, primary_coder
    from autocode import codebook as cb

    p = demo_project
    reconcile(p, ["alice", "bob"])
    assert primary_coder(p.conn) == "consensus"   # not alice, who has the most codings
    pairs = agreement(p, cb.load(p.conn), "consensus")["pairs"]
    assert pairs[0]["coders"] == ["alice", "bob"]
    with_alice = next(x for x in pairs if x["coders"] == ["consensus", "alice"])
    assert any("settled from alice and bob's codings, so its agreement with alice is high by construction" in c
               for c in with_alice["cautions"])


def test_compare_with_the_consensus_warns_and_reconcile_refuses_it_as_a_coder(demo_project):
    p = demo_project
    reconcile(p, ["alice", "bob"])
    said = flat(cli(p, "compare", "alice", "bob", "consensus").output)
    assert "consensus was settled from alice and bob's codings" in said and "autocode reconcile" not in said
    result = cli(p, "reconcile", "alice", "consensus")
    assert result.exit_code == 1 and "'consensus' is a consensus, settled from alice and bob's codings" in flat(result.output)
    assert "autocode reconcile alice bob" in flat(result.output)


def test_status_and_the_quote_bank_follow_the_consensus(demo_project, tmp_path):
    from docx import Document

    p = demo_project
    before = flat(cli(p, "status").output)
    assert "Double coding: alice and bob coded 2 transcripts in common" in before and "autocode reconcile alice bob" in before
    first = reconcile(p, ["alice", "bob"])
    after = flat(cli(p, "status").output)
    assert f"{len(first['to_settle'])} disagreements to settle into consensus" in after
    assert "Next: autocode reconcile alice bob --sheet to_settle.csv" in after
    bank = tmp_path / "quotes.docx"
    said = flat(cli(p, "export", "--out", bank).output)
    assert "It quotes consensus's codings, the team's settled coding" in said
    assert "Coded by consensus." in " ".join(par.text for par in Document(bank).paragraphs)


def test_settling_an_old_sheet_again_says_what_it_changes_and_names_every_unknown_code(demo_project, tmp_path):
    p = demo_project
    sheet = tmp_path / "s.csv"
    cli(p, "reconcile", "alice", "bob", "--sheet", sheet)
    rows = read_sheet(sheet)
    rows[0][AGREED], rows[1][AGREED] = "credibility", "none"
    write_sheet(sheet, rows)
    cli(p, "settle", sheet)
    rows[0][AGREED] = "hope_recovery"   # an older sheet, with one decision otherwise
    write_sheet(sheet, rows)
    said = flat(cli(p, "settle", sheet).output)
    assert "Settled 1 utterance(s)" in said and "1 row(s) were settled that way already and are unchanged" in said
    assert "1 row(s) changed what was settled before" in said and "Credibility and rapport -> " in said
    rows[2][AGREED], rows[3][AGREED] = "Credibilty", "Credibility and rapport, Hope and recovery"
    write_sheet(sheet, rows)
    result = cli(p, "settle", sheet)
    said = flat(result.output)
    assert result.exit_code == 1 and "2 rows name a code the codebook does not have" in said
    assert "row 4: unknown code 'Credibilty'" in said and "joined with '+' or ';', not commas" in said
