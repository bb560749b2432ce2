"""The HTML report, on the demo project (D01-D07, alice and bob) with a trained classifier."""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from html import escape

import pytest

from autocode import AutocodeError, Project
from autocode.compare import compare_project
from autocode.corpus import participant_numbers as document_numbers
from autocode import codebook as cb
from autocode.report import (agreement, curve, participants, primary_coder, render_html, report_data,
                             write_report)

SECTIONS = ("codebook", "prevalence", "quotes", "agreement", "classifier")


@pytest.fixture(scope="module")
def trained(_trained_template, tmp_path_factory):
    """A private demo project with alice's classifier trained: the report's full case."""
    template, metrics = _trained_template
    root = tmp_path_factory.mktemp("report") / "demo"
    shutil.copytree(template, root)
    p = Project(root)
    yield p, metrics
    p.close()


@pytest.fixture(scope="module")
def data(trained):
    return report_data(trained[0])


@pytest.fixture(scope="module")
def report_file(trained, data, tmp_path_factory):
    """write_report's page, from the figures ``data`` already gathered (gathering again would
    recompute the half-minute learning curve)."""
    import autocode.report

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(autocode.report, "report_data", lambda project, coder=None: data)
        return write_report(trained[0], tmp_path_factory.mktemp("out") / "report.html")


@pytest.fixture(scope="module")
def html(report_file):
    return report_file.read_text(encoding="utf-8")


def sql(p: Project, query: str, *args):
    return p.conn.execute(query, args).fetchall()


# -- the page ----------------------------------------------------------------------------------

def test_every_section_is_there(html):
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in html and f'href="#{sid}"' in html
    assert html.count("<svg") == 2   # the heatmap and the learning curve
    assert "Coding report: demo" in html and "<strong>alice</strong> has coded 675 of them" in html


def test_the_file_is_self_contained(html):
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc\s*=|url\(|@import", html, re.I)
    assert "<style>" in html and "@media print" in html


def test_user_text_is_escaped(demo_project):
    demo_project.conn.execute("UPDATE codes SET name = '<b>Hope</b> & \"more\"' WHERE id = 'hope_recovery'")
    demo_project.conn.execute("UPDATE utterances SET text = text || ' <script>x</script>' WHERE id = "
                              "(SELECT utterance FROM codings WHERE coder = 'alice' AND code = 'hope_recovery' LIMIT 1)")
    page = render_html(report_data(demo_project, learning_curve=False))
    assert "<b>Hope</b>" not in page and "&lt;b&gt;Hope&lt;/b&gt; &amp; &quot;more&quot;" in page
    assert "<script" not in page


# -- codebook and prevalence ------------------------------------------------------------------------

def test_codebook_counts_equal_the_codings(trained, data):
    p, _ = trained
    per_code = dict(sql(p, "SELECT code, COUNT(*) FROM codings WHERE coder = 'alice' GROUP BY code"))
    themes = [t["id"] for t in data["codebook"]]
    assert themes == [r[0] for r in sql(p, "SELECT id FROM themes ORDER BY position")]
    for t in data["codebook"]:
        for c in t["codes"]:
            assert c["utterances"] == per_code.get(c["id"], 0)
        n = sql(p, "SELECT COUNT(DISTINCT c.utterance) FROM codings c JOIN codes k ON k.id = c.code"
                   " WHERE c.coder = 'alice' AND k.theme = ?", t["id"])[0][0]
        assert t["utterances"] == n > 0


def test_prevalence_counts_participants_as_sql_does(trained, data, html):
    p, _ = trained
    prev = data["prevalence"]
    assert prev["participants"] == ["1", "2", "3", "4", "5", "6", "7"]
    for t in prev["themes"]:
        mentioned = sql(p, "SELECT COUNT(DISTINCT u.document || '/' || u.speaker) FROM codings c"
                           " JOIN codes k ON k.id = c.code JOIN utterances u ON u.id = c.utterance"
                           " WHERE c.coder = 'alice' AND u.is_interviewer = 0 AND k.theme = ?", t["id"])[0][0]
        assert t["participants"] == mentioned == sum(1 for n in t["counts"] if n)
        assert t["in_words"] == f"{mentioned} of 7 participants"
        assert f"<td>{t['in_words']}</td>" in html
    everyone = [t for t in prev["themes"] if t["participants"] == 7]
    assert everyone and "7 of 7 participants" in html


def test_heatmap_cells_are_the_utterance_counts(trained, data):
    p, _ = trained
    t = data["prevalence"]["themes"][0]
    for label, n in zip(data["prevalence"]["participants"], t["counts"]):
        doc = f"D0{label}"
        expected = sql(p, "SELECT COUNT(DISTINCT c.utterance) FROM codings c JOIN codes k ON k.id = c.code"
                          " JOIN utterances u ON u.id = c.utterance WHERE c.coder = 'alice' AND k.theme = ?"
                          " AND u.document = ? AND u.is_interviewer = 0", t["id"], doc)[0][0]
        assert n == expected


def test_prevalence_leaves_out_participants_the_coder_has_not_read(demo_project):
    prev = report_data(demo_project, coder="bob", learning_curve=False)["prevalence"]
    assert prev["participants"] == ["1", "4"] and prev["not_coded"] == 5
    assert all(t["of"] == 2 for t in prev["themes"])


# -- participants and quotes -----------------------------------------------------------------------------

def test_participant_ids_are_written_as_papers_write_them():
    assert document_numbers(["D07", "P12"]) == {"D07": "7", "P12": "12"}
    assert document_numbers(["D07", "P12", "interview"]) == {"D07": "D07", "P12": "P12", "interview": "interview"}
    assert document_numbers(["A1", "B1", "2024-03-P5"]) == {"A1": "A1", "B1": "B1", "2024-03-P5": "2024-03-P5"}
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE utterances (document, idx, speaker, is_interviewer)")
    conn.executemany("INSERT INTO utterances VALUES (?, ?, ?, ?)",
                     [("FG3", 0, "Moderator", 1), ("FG3", 1, "Sam", 0), ("FG3", 2, "Ann", 0), ("D01", 0, "Jo", 0)])
    assert [(x["speaker"], x["label"]) for x in participants(conn)] == [("Jo", "1"), ("Sam", "3a"), ("Ann", "3b")]


def test_quotes_come_from_the_code_and_carry_paper_ids(trained, data, html):
    p, _ = trained
    for theme in data["quotes"]:
        for code in theme["codes"]:
            quotes = code["quotes"]
            assert 1 <= len(quotes) <= 5
            for q in quotes:
                assert re.fullmatch(r"\(\d\)", q["participant"]) and q["participant"] == f"({int(q['document'][1:])})"
                coded = sql(p, "SELECT u.text FROM codings c JOIN utterances u ON u.id = c.utterance WHERE c.coder = 'alice'"
                               " AND c.code = ? AND u.document = ? AND u.idx = ?", code["id"], q["document"], q["utterance"])
                assert coded and coded[0][0].split()[:10] == q["text"].split()[:10]
            people = [q["participant"] for q in quotes]
            assert len(set(people)) == len(people)   # every code here was used by 5+ participants
            assert all(15 <= len(q["text"].split()) <= 60 for q in quotes)
    first = data["quotes"][0]["codes"][0]["quotes"][0]
    assert f"{first['participant']}</span>" in html


def test_machine_quotes_are_the_most_confident(demo_project):
    demo_project.conn.execute("INSERT INTO codings (utterance, code, coder, confidence, created_at)"
                              " SELECT id, 'credibility', 'machine', idx / 1000.0, 'now' FROM utterances"
                              " WHERE is_interviewer = 0 AND document IN ('D01', 'D02')")
    quotes = report_data(demo_project, coder="machine", learning_curve=False)["quotes"][0]["codes"][0]["quotes"]
    top = sql(demo_project, "SELECT MAX(idx) FROM utterances WHERE is_interviewer = 0 GROUP BY document ORDER BY document")
    assert [q["utterance"] for q in quotes[:2]] == sorted([top[0][0], top[1][0]], reverse=True)
    rest = [q["confidence"] for q in quotes[2:]]
    assert len(quotes) == 5 and rest == sorted(rest, reverse=True)
    assert {q["document"] for q in quotes[:2]} == {"D01", "D02"}


# -- coders and agreement -----------------------------------------------------------------------------------

def test_primary_coder_is_the_busiest_person_not_the_machine(trained):
    assert primary_coder(trained[0].conn) == "alice"
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE codings (coder)")
    conn.execute("CREATE TABLE decisions (action, details)")   # no consensus yet
    conn.executemany("INSERT INTO codings VALUES (?)", [("machine",)] * 9 + [("bob",)] * 2 + [("cy",)] * 3)
    assert primary_coder(conn) == "cy"
    conn.execute("DELETE FROM codings WHERE coder != 'machine'")
    assert primary_coder(conn) == "machine"


def test_unknown_coder_is_an_error(demo_project):
    with pytest.raises(AutocodeError):
        report_data(demo_project, coder="nobody", learning_curve=False)


def test_agreement_with_two_coders(trained, data, html):
    p, _ = trained
    pair = data["agreement"]["pairs"][0]
    expected = compare_project(p, ["alice", "bob"])
    assert pair["coders"] == ["alice", "bob"]
    assert pair["cohen_kappa"] == pytest.approx(expected["overall"]["cohen_kappa"])
    assert pair["n_disagreements"] == len(expected["disagreements"]) > 20 == len(pair["disagreements"])
    assert {t["id"] for t in pair["per_theme"]} == set(expected["per_theme"])
    assert "kappa 0.80" in pair["in_words"] and escape(pair["in_words"]) in html
    assert f"Disagreements (20 of {pair['n_disagreements']} shown)" in html


def test_one_coder_has_no_agreement_section(demo_project, tmp_path, monkeypatch):
    import autocode.report

    monkeypatch.setattr(autocode.report, "curve", lambda project, coder: {"note": "not computed here"})
    demo_project.conn.execute("DELETE FROM codings WHERE coder = 'bob'")
    out = write_report(demo_project, tmp_path / "one.html")
    page = out.read_text(encoding="utf-8")
    assert 'id="agreement"' not in page and 'href="#agreement"' not in page
    assert "No classifier has been trained" in page
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_report_refuses_a_missing_folder(demo_project, tmp_path):
    with pytest.raises(AutocodeError):
        write_report(demo_project, tmp_path / "no" / "such" / "report.html")


# -- the classifier ----------------------------------------------------------------------------------------

def test_classifier_figures_are_the_latest_training(trained, data, html):
    _, metrics = trained
    clf = data["classifier"]
    assert clf["coder"] == "alice" and clf["utterances"] == metrics["utterances"] and clf["codes"] == 17
    assert clf["cross_validation"] == metrics["cross_validation"]
    assert f"{metrics['cross_validation']['themes']['cohen_kappa']:.2f}" in html


def test_learning_curve_grows_to_the_cross_validated_figure(trained, data):
    _, metrics = trained
    lc = data["learning_curve"]
    sizes = [pt["n_train"] for pt in lc["points"]]
    assert [pt["fraction"] for pt in lc["points"]] == [0.1, 0.25, 0.5, 0.75, 1.0]
    assert sizes == sorted(sizes) and sizes[-1] == round(metrics["utterances"] * 4 / 5)
    # all the coding, the same document folds: the figure train reported
    assert lc["points"][-1]["themes"] == pytest.approx(metrics["cross_validation"]["themes"]["cohen_kappa"], abs=0.02)
    assert lc["points"][-1]["themes"] > lc["points"][0]["themes"]


def test_learning_curve_is_seeded(trained):
    p, _ = trained
    assert curve(p, "alice", fractions=(0.1, 0.3), folds=3) == curve(p, "alice", fractions=(0.1, 0.3), folds=3)
    assert curve(p, "alice", fractions=(0.1,), folds=3) != curve(p, "alice", fractions=(0.1,), folds=3, seed=1)


def test_too_little_coding_gives_a_sentence_not_a_curve(demo_project):
    demo_project.conn.execute("DELETE FROM codings WHERE utterance IN (SELECT id FROM utterances WHERE document != 'D01')")
    data = report_data(demo_project, coder="bob")
    assert "points" not in data["learning_curve"] and "at least two documents" in data["learning_curve"]["note"]
    assert "at least two documents" in render_html(data)


def test_an_empty_project_still_renders(project):
    page = render_html(report_data(project))
    assert "Nobody has coded them yet" in page and "No participant has been coded yet" in page


# -- how it looks ---------------------------------------------------------------------------------------------

def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def test_headless_chromium_renders_the_report(report_file, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (chromium, chromium-browser or google-chrome) to screenshot the report")
    png = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000", f"--screenshot={png}",
                    report_file.as_uri()], capture_output=True, timeout=120)
    assert png.is_file() and png.stat().st_size > 10_000
    keep = os.environ.get("AUTOCODE_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(png, keep)


def test_the_machine_is_compared_with_every_person_and_flattering_pairs_say_why(demo_project, tmp_path):
    """alice taught the classifier; bob coded D01 and D04 too. The report sets the machine beside
    bob as well as alice, and says that its agreement with alice is partly memory."""
    from autocode.learn import suggest, train

    train(demo_project, "alice", evaluate=False)
    suggest(demo_project, ["D01", "D04"], include_coded=True)
    got = agreement(demo_project, cb.load(demo_project.conn), "alice")
    assert [tuple(p["coders"]) for p in got["pairs"]] == [("alice", "bob"), ("alice", "machine"), ("bob", "machine")]
    by = {tuple(p["coders"]): p for p in got["pairs"]}
    assert by[("alice", "bob")]["cautions"] == [] and by[("bob", "machine")]["cautions"] == []
    assert "the machine learnt from alice's codings" in by[("alice", "machine")]["cautions"][0]


def test_a_curve_learnt_from_accepted_candidates_is_read_with_care(demo_project):
    """Codings made by accepting candidates are the clustering's groups: the curve says so, and
    with no classifier trained the report names the coder to train on."""
    from autocode.cluster import list_candidates, propose
    from autocode.review import accept

    propose(demo_project, seed=0)
    for c, theme in zip(list_candidates(demo_project.conn)[:3], ("contribution", "lived_experience", "role_ambiguity")):
        accept(demo_project, c["id"], theme=theme, name=f"Group {c['id']}", coder="rita")
    demo_project.conn.execute("DELETE FROM classifiers")
    data = report_data(demo_project, "rita")
    assert data["learning_curve"]["from_candidates"] == data["learning_curve"]["utterances"] > 0
    page = render_html(data)
    assert "got their code by accepting a candidate code" in page and "autocode train --coder rita" in page
    assert "trained classifier’s figures above" not in page
    from typer.testing import CliRunner
    from autocode.cli import app

    trained = CliRunner().invoke(app, ["train", "--coder", "rita", "--project", str(demo_project.root)],
                                 env={"COLUMNS": "300"})
    said = " ".join(trained.output.split())
    assert trained.exit_code == 0 and "were coded by accepting candidate codes as whole groups" in said
    assert "partly the classifier finding the clustering's groups again" in said


def test_transcripts_are_listed_as_researchers_number_them():
    from autocode.corpus import natural

    names = ["Interview 10", "Interview 3", "D02", "Interview 32 - PO", "x\u00b2", "Interview 2"]
    assert sorted(names, key=natural) == ["D02", "Interview 2", "Interview 3", "Interview 10", "Interview 32 - PO",
                                          "x\u00b2"]


def test_agreement_says_which_transcripts_it_rests_on_and_its_intervals(data, html):
    pair = next(p for p in data["agreement"]["pairs"] if p["coders"] == ["alice", "bob"])
    assert pair["documents"] == ["D01", "D04"] and pair["all_documents"] == 7
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "both coded in 2 of the 7 transcripts (D01 and D04)" in text
    assert re.search(r"Cohen\u2019s kappa 0\.\d\d \(0\.\d\d\u20130\.\d\d\)", text)
    assert "95% bootstrap intervals" in text


def test_a_large_coding_is_curved_on_a_seeded_sample_of_whole_documents():
    from autocode.report import _sample_documents
    from autocode.report_html import _curve_html

    docs = ["a"] * 600 + ["b"] * 600 + ["c"] * 600 + ["d"] * 10
    picked = _sample_documents(docs, 1000, seed=0)
    kept = {docs[i] for i in picked}
    assert len(kept) >= 2 and len(picked) == sum(docs.count(d) for d in kept) >= 1000   # whole transcripts only
    assert picked == _sample_documents(docs, 1000, seed=0) and _sample_documents(docs, 5000, 0) == list(range(len(docs)))
    lc = {"coder": "alice", "folds": 5, "documents": 2, "utterances": 1200, "from_candidates": 0,
          "points": [{"fraction": 1.0, "n_train": 960, "themes": 0.6, "codes": 0.5}],
          "sampled_from": {"documents": 4, "utterances": 1810}}
    assert "a seeded sample of the 4 documents and 1,810 utterances alice coded" in _curve_html(lc)
