"""`compare`: coders in a project and codings CSV files, by utterance, character and segment."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from typer.testing import CliRunner

from autocode import AutocodeError, compare_files, compare_project
from autocode.cli import app
from autocode.compare import Coding, character_units, utterance_units
from autocode.export import export_csv
from conftest import SHARED

runner = CliRunner()
FIELDS = ["document", "utterance", "start", "end", "code", "coder"]


def write_codings(path, rows):
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(dict(zip(FIELDS, r)) for r in rows)
    return path


def test_alice_and_bob_overall_kappa_equals_scikit_learn_on_the_same_units(demo_project):
    report = compare_project(demo_project, ["alice", "bob"], ci=False)
    units = [(k, u) for k, u in zip(*_units(demo_project))]
    a = ["+".join(sorted(c for c in u["alice"] if c)) or "(no code)" for _, u in units]
    b = ["+".join(sorted(c for c in u["bob"] if c)) or "(no code)" for _, u in units]
    assert report["overall"]["n_units"] == len(units)
    assert abs(report["overall"]["cohen_kappa"] - cohen_kappa_score(a, b)) < 1e-9
    assert set(report["per_document"]) == {"D01", "D04"}   # the documents both coded


def _units(project):
    from autocode.compare import codings_from_project

    codings, _ = codings_from_project(project.conn, ["alice", "bob"])
    units = utterance_units(codings, ["alice", "bob"])
    both = [i for i, u in enumerate(units.codes) if u["alice"] is not None and u["bob"] is not None]
    return [units.keys[i] for i in both], [units.codes[i] for i in both]


def test_report_has_every_section_and_figure(demo_project):
    r = compare_project(demo_project, ["alice", "bob"])
    for key in ("overall", "per_code", "per_theme", "per_document", "confusion", "disagreements"):
        assert key in r
    o = r["overall"]
    for key in ("n_units", "percent_agreement", "cohen_kappa", "krippendorff_alpha", "brennan_prediger",
                "cohen_kappa_ci", "krippendorff_alpha_ci", "in_words"):
        assert key in o
    lo, hi = o["cohen_kappa_ci"]
    assert lo < o["cohen_kappa"] < hi
    assert o["in_words"].startswith("kappa 0.") and "alpha" in o["in_words"]
    assert len(r["per_code"]) == 17 and set(r["per_theme"]) == {
        "lived_experience", "contribution", "impact_on_psw", "role_ambiguity", "team_dynamics"}
    assert r["disagreements"] and all(d["alice"] != d["bob"] for d in r["disagreements"])
    assert r["uncoded"].startswith("utterances a coder left uncoded are missing")


def test_per_code_is_binary_present_or_absent(demo_project):
    r = compare_project(demo_project, ["alice", "bob"], codes=["credibility"], ci=False)
    f = r["per_code"]["credibility"]
    assert f["brennan_prediger"] is not None and 0 <= f["percent_agreement"] <= 100


def test_theme_level_agrees_at_least_as_often_as_code_level(demo_project):
    code = compare_project(demo_project, ["alice", "bob"], ci=False)["overall"]["percent_agreement"]
    theme = compare_project(demo_project, ["alice", "bob"], level="theme", ci=False)["overall"]["percent_agreement"]
    assert theme >= code


def test_restricting_to_themes_and_documents(demo_project):
    r = compare_project(demo_project, ["alice", "bob"], documents=["D01"], themes=["contribution"], ci=False)
    assert set(r["per_code"]) == {"recruitment_training", "cost_and_exploitation", "evidence_outcomes", "service_feedback"}
    assert set(r["per_document"]) == {"D01"}


def test_uncoded_as_no_code_adds_units(demo_project):
    plain = compare_project(demo_project, ["alice", "bob"], ci=False)
    counted = compare_project(demo_project, ["alice", "bob"], uncoded="no-code", ci=False)
    assert counted["overall"]["n_units"] >= plain["overall"]["n_units"]
    assert "count as 'no code'" in counted["uncoded"]


def test_machine_against_a_coder_with_precision_and_recall(demo_project):
    from autocode import suggest, train

    train(demo_project, "alice", evaluate=False)
    suggest(demo_project, ["D01"], include_coded=True)
    r = compare_project(demo_project, ["alice", "machine"], documents=["D01"], reference="alice", ci=False)
    assert r["overall"]["cohen_kappa"] > 0.5   # trained on D01 itself: high, but not perfect
    prf = r["against_reference"]["machine"]["credibility"]
    assert 0 <= prf["precision"] <= 1 and 0 <= prf["recall"] <= 1


def test_intra_coder_agreement_from_an_export_snapshot(demo_project, tmp_path):
    snap = tmp_path / "alice_then.csv"
    export_csv(demo_project.conn, snap, coder="alice")
    now = tmp_path / "alice_now.csv"
    export_csv(demo_project.conn, now, coder="alice")
    r = compare_files([snap, now], ci=False)
    assert r["coders"] == ["alice_then", "alice_now"]
    assert r["overall"]["percent_agreement"] == 100.0 and abs(r["overall"]["cohen_kappa"] - 1) < 1e-12


def test_files_by_offsets_at_character_level(tmp_path):
    a = write_codings(tmp_path / "a.csv", [("D", "", 0, 100, "x", "ann"), ("D", "", 100, 200, "y", "ann")])
    b = write_codings(tmp_path / "b.csv", [("D", "", 0, 150, "x", "ben"), ("D", "", 150, 200, "y", "ben")])
    r = compare_files([a, b], unit="character", ci=False)
    assert r["overall"]["n_characters"] == 200
    assert abs(r["overall"]["percent_agreement"] - 75.0) < 1e-9
    manual = cohen_kappa_score(["x"] * 100 + ["y"] * 100, ["x"] * 150 + ["y"] * 50)
    assert abs(r["overall"]["cohen_kappa"] - manual) < 1e-9


def test_character_units_are_weighted_stretches():
    codings = [Coding("a", "D", 0, 10, "x"), Coding("b", "D", 5, 10, "x")]
    units = character_units(codings, ["a", "b"])
    assert units.weights == [5.0, 5.0]
    assert units.codes[0]["b"] == frozenset({""}) and units.codes[1]["b"] == frozenset({"x"})


def test_segment_overlap_threshold(tmp_path):
    a = write_codings(tmp_path / "a.csv", [("D", "", 0, 100, "x", "ann"), ("D", "", 200, 300, "y", "ann")])
    b = write_codings(tmp_path / "b.csv", [("D", "", 0, 95, "x", "ben"), ("D", "", 200, 250, "y", "ben")])
    r = compare_files([a, b], unit="segment")
    assert r["per_code"]["x"]["agreements"] == 2 and r["per_code"]["y"]["disagreements"] == 2
    assert r["overall"]["percent_agreement"] == 50.0 and r["overall"]["cohen_kappa"] is None
    loose = compare_files([a, b], unit="segment", overlap=0.5)
    assert loose["overall"]["percent_agreement"] == 100.0


def test_unused_code_and_single_category_are_explained(tmp_path):
    a = write_codings(tmp_path / "a.csv", [("D", "1", "", "", "x", "ann"), ("D", "2", "", "", "x", "ann")])
    b = write_codings(tmp_path / "b.csv", [("D", "1", "", "", "x", "ben"), ("D", "2", "", "", "x", "ben")])
    r = compare_files([a, b], codes=["x", "never"], ci=False)
    assert r["overall"]["cohen_kappa"] is None and r["overall"]["percent_agreement"] == 100.0
    assert "same single category" in r["overall"]["in_words"]
    assert "nobody used 'never'" in r["per_code"]["never"]["in_words"]
    json.dumps(r)  # no NaN or odd types in the JSON


def test_one_category_among_the_units_compared_is_explained_though_others_were_used_elsewhere(tmp_path):
    """ben's code on a transcript ann did not code is no variation in the units compared: the
    figures are undefined there, and say why, rather than leaving an empty reading."""
    a = write_codings(tmp_path / "a.csv", [("D", str(i), "", "", "x", "ann") for i in range(1, 5)])
    b = write_codings(tmp_path / "b.csv", [("D", str(i), "", "", "x", "ben") for i in range(1, 5)]
                      + [("E", "1", "", "", "y", "ben")])
    r = compare_files([a, b], ci=False)
    assert r["overall"]["cohen_kappa"] is None and "same single category" in r["overall"]["in_words"]
    assert "same single category" in r["per_code"]["x"]["in_words"]


def test_three_coders_give_fleiss_and_pairs(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for who in ("ann", "ben", "cat"):
        rows = [("D", str(i), "", "", rng.choice(["x", "y", ""]), who) for i in range(40)]
        files.append(write_codings(tmp_path / f"{who}.csv", rows))
    r = compare_files(files, ci=False)
    assert r["overall"]["fleiss_kappa"] is not None and "cohen_kappa" not in r["overall"]
    assert set(r["overall"]["pairs"]) == {"ann ~ ben", "ann ~ cat", "ben ~ cat"}
    assert r["confusion"] is None


def test_bad_requests_are_plain_errors(demo_project):
    with pytest.raises(AutocodeError, match="unknown unit"):
        compare_project(demo_project, ["alice", "bob"], unit="word")
    with pytest.raises(AutocodeError, match="at least two"):
        compare_project(demo_project, ["alice", "alice"])
    with pytest.raises(AutocodeError, match="no codings"):
        compare_project(demo_project, ["alice", "zed"])
    with pytest.raises(AutocodeError, match="reference coder"):
        compare_project(demo_project, ["alice", "bob"], reference="zed", ci=False)


def test_cli_compare_writes_json_csv_and_disagreements(demo_project, tmp_path):
    args = ["compare", "alice", "bob", "--project", str(demo_project.root)]
    result = runner.invoke(app, args + ["--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"overall", "per_code", "per_theme", "per_document"} <= set(data)
    result = runner.invoke(app, args + ["--csv", str(tmp_path / "codes.csv"), "--disagreements", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output
    assert "Overall:" in result.stdout and "kappa" in result.stdout
    per_code = list(csv.DictReader((tmp_path / "codes.csv").open(encoding="utf-8-sig")))
    assert len(per_code) == 17
    dis = list(csv.DictReader((tmp_path / "d.csv").open(encoding="utf-8-sig")))
    assert dis and set(dis[0]) == {"document", "unit", "before", "speaker", "text", "after", "alice", "bob"}
    assert all(r["before"] or r["after"] for r in dis)


def test_cli_compare_unknown_coder_is_a_plain_error(demo_project):
    result = runner.invoke(app, ["compare", "alice", "zed", "--project", str(demo_project.root)])
    assert result.exit_code == 1 and "no codings" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(not (SHARED / "datasets/exam-proctoring-two-coders").is_dir(), reason="../shared dataset absent")
def test_real_double_coding_converts_and_compares(tmp_path):
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("exam", REPO / "bench" / "exam_proctoring.py")
    exam = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exam)
    primary, secondary = exam.convert(SHARED / "datasets/exam-proctoring-two-coders/irr_inputs", tmp_path)
    r = compare_files([primary, secondary], ci=False)
    assert r["coders"] == ["primary", "secondary"]
    assert len(r["per_document"]) == 14 and len(r["per_code"]) > 20
    assert 0.3 < r["overall"]["krippendorff_alpha"] < 1


# -- filters and units that must not change what they report -----------------------------------------

def test_a_code_filter_reports_that_codes_row_of_the_full_table(demo_project):
    """An utterance one coder gave the code and the other gave another code is a disagreement
    on that code, filtered or not."""
    full = compare_project(demo_project, ["alice", "bob"], ci=False)
    code = next(c for c, f in full["per_code"].items() if f["cohen_kappa"] is not None and f["cohen_kappa"] < 0.9)
    one = compare_project(demo_project, ["alice", "bob"], codes=[code], ci=False)
    for key in ("n_units", "cohen_kappa", "percent_agreement"):
        assert one["per_code"][code][key] == full["per_code"][code][key], key
    assert list(one["per_code"]) == [code]
    assert one["overall"]["n_units"] == full["overall"]["n_units"] and one["disagreements"]
    name = one["names"][code]   # the sheet for a consensus meeting names codes as the codebook does
    assert all(name in (str(d["alice"]) + str(d["bob"])) for d in one["disagreements"])
    assert "(none of these codes)" in {d["alice"] for d in one["disagreements"]} | {d["bob"] for d in one["disagreements"]}


def test_a_misspelt_code_is_refused_by_name(demo_project):
    with pytest.raises(AutocodeError, match="no code 'credibilty' in the codebook") as err:
        compare_project(demo_project, ["alice", "bob"], codes=["credibilty"])
    assert "credibility" in err.value.fix


def test_segments_in_documents_one_coder_never_coded_are_not_disagreements(demo_project):
    everywhere = compare_project(demo_project, ["alice", "bob"], unit="segment")
    shared = compare_project(demo_project, ["alice", "bob"], unit="segment", documents=["D01", "D04"])
    assert everywhere["overall"] == shared["overall"]   # bob coded D01 and D04 only


def test_segment_comparison_prints(demo_project):
    result = CliRunner().invoke(app, ["compare", "alice", "bob", "--unit", "segment", "--project", str(demo_project.root)])
    assert result.exit_code == 0, result.output
    assert "of coded segments matched" in result.output and "unexpected" not in result.output


def test_a_document_no_file_codes_is_refused(tmp_path):
    a = write_codings(tmp_path / "a.csv", [("D", "1", "", "", "x", "ann")])
    b = write_codings(tmp_path / "b.csv", [("D", "1", "", "", "x", "ben")])
    with pytest.raises(AutocodeError, match="no coding in these files is of document 'D99'"):
        compare_files([a, b], ["D99"])


def test_the_printed_report_has_the_levels_table_documents_and_reference(demo_project, tmp_path):
    per_theme = tmp_path / "themes.csv"
    result = runner.invoke(app, ["compare", "alice", "bob", "--level", "theme", "--reference", "alice",
                                 "--csv", str(per_theme), "--project", str(demo_project.root)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Per theme (present or absent)" in text and "Per code" not in text
    assert "Per document" in text and "D01" in text and "bob against the reference" in text
    rows = list(csv.DictReader(per_theme.open(encoding="utf-8-sig")))
    assert rows[0]["theme"] and "–" in rows[0]["cohen_kappa_ci"] and "(" not in rows[0]["cohen_kappa_ci"]


def test_three_coders_print_fleiss_kappa(tmp_path):
    rng = np.random.default_rng(1)
    files = [write_codings(tmp_path / f"{who}.csv", [("D", str(i), "", "", rng.choice(["x", "y"]), who) for i in range(30)])
             for who in ("ann", "ben", "cat")]
    result = runner.invoke(app, ["compare", *map(str, files)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Fleiss' kappa" in result.output and "undefined" not in result.output.split("Per code")[1]


def test_three_coders_who_never_all_coded_one_unit_are_told_why_fleiss_is_missing(tmp_path):
    """ann and ben coded utterances 0-9, ben and cat 10-19: each pair shares units, all three none."""
    rows = {"ann": range(10), "ben": range(20), "cat": range(10, 20)}
    files = [write_codings(tmp_path / f"{who}.csv", [("D", str(i), "", "", "xy"[i % 2], who) for i in units])
             for who, units in rows.items()]
    r = compare_files(files, ci=False)
    assert r["overall"]["fleiss_kappa"] is None
    assert "no unit was coded by all 3 coders, so Fleiss' kappa is undefined" in r["overall"]["notes"][0]
    result = runner.invoke(app, ["compare", *map(str, files)], env={"COLUMNS": "200"})
    assert "ann ~ cat: no unit coded by both." in result.output and "undefined%" not in result.output


def test_character_disagreements_carry_their_text(demo_project):
    r = compare_project(demo_project, ["alice", "bob"], unit="character", ci=False)
    row = r["disagreements"][0]
    start, end = map(int, row["unit"].split("-"))
    doc = demo_project.conn.execute("SELECT text FROM documents WHERE id = ?", (row["document"],)).fetchone()[0]
    assert row["text"] == doc[start:end] and row["text"].strip()


def test_how_often_each_coder_used_a_code_counts_the_compared_units_only(demo_project):
    """alice coded D01-D07 and bob D01 and D04: her uses elsewhere are not part of the comparison."""
    r = compare_project(demo_project, ["alice", "bob"], ci=False)
    both = compare_project(demo_project, ["alice", "bob"], documents=["D01", "D04"], ci=False)
    for code, f in both["per_code"].items():
        assert r["per_code"][code]["present"] == f["present"], code


def test_coders_with_nothing_in_common_get_one_line_on_what_to_do(tmp_path):
    a = write_codings(tmp_path / "a.csv", [("D", "1", "", "", "x", "ann")])
    b = write_codings(tmp_path / "b.csv", [("D", "2", "", "", "x", "ben")])
    result = runner.invoke(app, ["compare", str(a), str(b)], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "ann and ben coded no utterance in common" in result.output and "undefined" not in result.output


def test_units_with_several_codes_are_counted_and_explained(tmp_path):
    a = write_codings(tmp_path / "a.csv", [("D", "1", "", "", "x", "ann"), ("D", "1", "", "", "y", "ann"),
                                           ("D", "2", "", "", "x", "ann")])
    b = write_codings(tmp_path / "b.csv", [("D", "1", "", "", "x", "ben"), ("D", "2", "", "", "x", "ben")])
    assert compare_files([a, b], ci=False)["several_codes"] == 1
    result = runner.invoke(app, ["compare", str(a), str(b)], env={"COLUMNS": "300"})
    assert "1 of the utterances compared carries two or more codes from one coder" in result.output


def test_confidence_intervals_depend_on_the_compared_units_only(tmp_path):
    """Codings of a document only one coder coded change nothing in the figures, intervals included."""
    rng = np.random.default_rng(3)
    rows = [("D", str(i), "", "", rng.choice(["x", "y"]), who) for i in range(40) for who in ("ann", "ben")]
    a = write_codings(tmp_path / "a.csv", [r for r in rows if r[5] == "ann"])
    b = write_codings(tmp_path / "b.csv", [r for r in rows if r[5] == "ben"])
    extra = write_codings(tmp_path / "b2.csv", [r for r in rows if r[5] == "ben"]
                          + [("E", str(i), "", "", "x", "ben") for i in range(30)])
    one, two = (compare_files([a, other])["overall"] for other in (b, extra))
    assert one["cohen_kappa"] == two["cohen_kappa"] and one["cohen_kappa_ci"] == two["cohen_kappa_ci"]
    assert one["krippendorff_alpha_ci"] == two["krippendorff_alpha_ci"]


def test_a_coders_unread_accepted_suggestions_are_named_when_compared(demo_project):
    from autocode import confirm
    from autocode.learn import suggest, train

    train(demo_project, "alice", evaluate=False)
    suggest(demo_project, ["D04"], include_coded=True)
    n = confirm.accept_above(demo_project, 0.0, ["D04"], "zoe")["accepted"]
    result = runner.invoke(app, ["compare", "zoe", "bob", "--project", str(demo_project.root)], env={"COLUMNS": "300"})
    flat = " ".join(result.output.split())
    assert f"{n} of zoe's codings of utterances bob also coded are suggestions accepted unread" in flat
    assert "bob is compared with the machine, not with zoe" in flat and "--leave-out-unread" in flat


def test_leaving_out_utterances_accepted_unread_measures_the_coders_own_agreement(demo_project):
    """Where zoe accepted the machine's suggestions unread, her agreement with the machine is
    the machine's with itself; leaving those utterances out leaves what she read."""
    from autocode import confirm
    from autocode.learn import suggest, train

    train(demo_project, "alice", evaluate=False)
    suggest(demo_project, ["D04"], include_coded=True)
    confirm.accept_above(demo_project, 0.0, ["D04"], "zoe")
    root = str(demo_project.root)
    result = runner.invoke(app, ["compare", "zoe", "bob", "--leave-out-unread", "--project", root], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and "where zoe accepted the machine's suggestions unread leaves no codings by zoe" in " ".join(result.output.split())
    demo_project.conn.execute("INSERT INTO codings (utterance, code, coder, created_at) SELECT c.utterance, c.code, "
                              "'zoe', c.created_at FROM codings c JOIN utterances u ON u.id = c.utterance "
                              "WHERE c.coder = 'bob' AND u.document != 'D04'")   # codings zoe read
    n = confirm.unread_overlap(demo_project.conn, "zoe", "bob")
    whole = compare_project(demo_project, ["zoe", "bob"], ci=False)["overall"]["n_units"]
    own = compare_project(demo_project, ["zoe", "bob"], ci=False, leave_out_unread=True)["overall"]["n_units"]
    assert n > 0 and own == whole - n
    with_machine = compare_project(demo_project, ["zoe", "machine"], ["D04"], ci=False)["overall"]
    assert with_machine["n_units"] > 0 and with_machine["percent_agreement"] == 100.0   # by construction
    result = runner.invoke(app, ["compare", "zoe", "bob", "--leave-out-unread", "--json", "--project", root])
    assert result.exit_code == 0 and json.loads(result.stdout)["overall"]["n_units"] == own
    assert "accepted unread" not in result.stderr
    result = runner.invoke(app, ["compare", "zoe", "bob", "--json", "--project", root])   # warned, and still JSON
    assert json.loads(result.stdout)["overall"]["n_units"] == whole and "--leave-out-unread" in result.stderr
    result = runner.invoke(app, ["compare", "alice", "bob", "--documents", "D02", "--leave-out-unread", "--project", root])
    assert "accepted the machine's suggestions unread" not in result.output   # nobody did there: the plain message
    result = runner.invoke(app, ["compare", "zoe", "machine", "--documents", "D04", "--leave-out-unread",
                                 "--project", root], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and "leaves no codings by zoe and machine to compare" in " ".join(result.output.split())


def test_a_file_holding_several_coders_is_refused_with_what_to_do(tmp_path):
    both = write_codings(tmp_path / "all.csv", [("D", "1", "", "", "x", "ann"), ("D", "1", "", "", "y", "ben")])
    other = write_codings(tmp_path / "c.csv", [("D", "1", "", "", "x", "cat")])
    with pytest.raises(AutocodeError) as err:
        compare_files([both, other], ci=False)
    assert err.value.problem.startswith("the file holds the codings of 2 coders (ann, ben)")
    assert "autocode export --coder NAME" in err.value.fix and err.value.where == str(both)


def test_several_codes_counts_the_units_compared_at_the_level_compared():
    from autocode.compare import Units, several_codes

    units = Units(keys=[("D", 1), ("D", 2), ("D", 3)],
                  codes=[{"a": frozenset({"x", "y"}), "b": frozenset({"x"})},     # compared, two codes of one theme
                         {"a": frozenset({"x", "z"}), "b": None},               # coded by one coder only
                         {"a": frozenset({"x", "z"}), "b": frozenset({"z"})}],  # compared, two themes
                  weights=[1.0] * 3, texts=["", "", ""])
    assert several_codes(units) == 2
    assert several_codes(units, {"x": "t1", "y": "t1", "z": "t2"}) == 1


def test_a_coder_whose_codings_came_from_accepting_candidates_is_named_as_such(review_project):
    from autocode import review
    from autocode.report import cautions

    p = review_project
    cid = p.conn.execute("SELECT m.candidate FROM candidate_members m JOIN utterances u ON u.id = m.utterance "
                         "WHERE u.document = 'D01' GROUP BY m.candidate ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    review.accept(p, cid, code_id="credibility", coder="rev")
    said = " ".join(cautions(p, "alice", "rev"))
    assert "of rev's" in said and "accepting candidate codes as whole groups" in said
    assert not any("alice's" in c and "whole groups" in c for c in cautions(p, "alice", "rev"))
    result = CliRunner().invoke(app, ["compare", "alice", "rev", "--project", str(p.root)], env={"COLUMNS": "300"})
    assert result.exit_code == 0 and "coded by accepting candidate codes as whole groups" in result.stderr
    with p.transaction() as conn:   # the same codings, imported as someone's own reading: not grouped
        conn.execute("INSERT INTO codings (utterance, code, coder, created_at) SELECT utterance, code, 'carol', "
                     "created_at FROM codings WHERE coder = 'rev'")
    assert not any("whole groups" in c for c in cautions(p, "alice", "carol"))
