"""The happy path through the real CLI on a small project (D01-D04 of the demo corpus).

One project is built once for the module (init, add, propose: the only embedding of D01-D04);
tests that only read use it as it is, tests that change it work on a private copy.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from autocode import Project
from autocode.cli import app

from conftest import DATA, query

TRANSCRIPTS = DATA / "transcripts"
CODEBOOK = DATA / "codebook.yaml"
DOCS = ["D01", "D02", "D03", "D04"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# -- helpers ---------------------------------------------------------------------------------

def flat(text: str) -> str:
    """Output with colour codes removed and rich's line wrapping undone."""
    return " ".join(ANSI.sub("", text).split())


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"autocode {' '.join(map(str, args))} failed:\n{result.output}"
    assert "Error:" not in result.output and "Traceback" not in result.output
    return result


def cli_json(*args):
    return json.loads(cli(*args, "--json").stdout)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def copy_project(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def log(root: Path) -> list[dict]:
    return cli_json("log", "--limit", "1000", "--project", root)


def members(root: Path) -> dict[int, list[str]]:
    """Each candidate's member utterance texts, by candidate id, from the database."""
    p = Project(root)
    try:
        out: dict[int, list[str]] = {}
        for cid, text in p.conn.execute(
                "SELECT m.candidate, u.text FROM candidate_members m JOIN utterances u ON u.id = m.utterance"
                " ORDER BY m.candidate, u.document, u.idx"):
            out.setdefault(cid, []).append(text)
        return out
    finally:
        p.close()


@pytest.fixture(autouse=True)
def _no_project_from_env(monkeypatch):
    monkeypatch.delenv("AUTOCODE_PROJECT", raising=False)
    monkeypatch.delenv("AUTOCODE_DEBUG", raising=False)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    """init --codebook, add D01-D04, propose --seed 0, all through the CLI."""
    root = tmp_path_factory.mktemp("cli") / "study"
    init = cli("init", root, "--codebook", CODEBOOK, "--coder", "tester")
    add = cli("add", *[TRANSCRIPTS / f"{d}.txt" for d in DOCS], "--project", root, "--coder", "tester")
    propose = cli("propose", "--seed", "0", "--project", root, "--coder", "tester")
    candidates = cli_json("candidates", "--project", root)
    return {"root": root, "init": init, "add": add, "propose": propose, "candidates": candidates}


@pytest.fixture
def study(base, tmp_path) -> Path:
    """A private copy of the proposed project, safe to change."""
    return copy_project(base["root"], tmp_path / "study")


@pytest.fixture(scope="module")
def trained(base, tmp_path_factory) -> dict:
    """A copy of the base project where a reviewer accepted a candidate, alice's codings of
    D01-D03 were imported, a classifier trained on them, and D08 given suggestions."""
    root = copy_project(base["root"], tmp_path_factory.mktemp("trained") / "study")
    first = base["candidates"][0]
    cli("accept", first["id"], "--theme", "contribution", "--name", "Peer value", "--coder", "reviewer",
        "--project", root)
    imported = cli("import-codings", DATA / "codings" / "alice_D01-D03.csv", "--project", root)
    metrics = cli_json("train", "--coder", "alice", "--project", root)
    out = root.parent / "suggestions.csv"
    suggested = cli("suggest", TRANSCRIPTS / "D08.txt", "--out", out, "--project", root, "--coder", "tester")
    return {"root": root, "imported": imported, "metrics": metrics, "suggested": suggested,
            "suggestions": read_csv(out), "accepted": first}


# -- init, add, propose, candidates ------------------------------------------------------------

def test_init_add_propose_messages(base):
    root = base["root"]
    assert (root / "autocode.toml").is_file() and (root / "autocode.db").is_file()
    assert "Codebook: 5 themes, 17 codes." in flat(base["init"].stdout)
    added = flat(base["add"].stdout)
    assert re.search(r"Added 4 document\(s\), replaced 0, 0 unchanged; \d+ utterances stored\.", added), added
    assert re.search(r"Found \d+ candidate codes covering \d+ utterances\.", flat(base["propose"].stdout))
    p = Project(root)
    try:
        assert [r[0] for r in p.conn.execute("SELECT id FROM documents ORDER BY id")] == DOCS
        assert p.conn.execute("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 1").fetchone()[0] > 0
    finally:
        p.close()


def test_candidates_json(base):
    rows = base["candidates"]
    assert len(rows) >= 4
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids) and all(isinstance(i, int) for i in ids)
    p = Project(base["root"])
    try:
        n_participant = p.conn.execute("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 0").fetchone()[0]
    finally:
        p.close()
    assert sum(r["size"] for r in rows) <= n_participant
    sizes = [r["size"] for r in sorted(rows, key=lambda r: r["id"])]
    assert sizes == sorted(sizes, reverse=True), "candidates are listed largest first"
    for r in rows:
        assert r["status"] == "open" and r["code"] is None
        assert isinstance(r["label"], str) and r["label"]
        assert isinstance(r["keywords"], list) and all(isinstance(k, str) and k for k in r["keywords"])
        if r["keywords"]:
            assert all(part in r["keywords"] for part in r["label"].split(" / ")), r
        assert isinstance(r["size"], int) and r["size"] >= 5
        assert 1 <= r["n_documents"] <= 4
        assert r["n_documents"] <= r["n_participants"] <= r["size"]
        assert 3 <= len(r["examples"]) <= 5
        for e in r["examples"]:
            assert e["document"] in DOCS
            assert isinstance(e["speaker"], str) and e["speaker"] and e["speaker"] != "Interviewer"
            assert isinstance(e["text"], str) and e["text"].strip()
        assert len({(e["document"], e["idx"]) for e in r["examples"]}) == len(r["examples"])


def test_candidates_table(base):
    out = flat(cli("candidates", "--project", base["root"]).stdout)
    assert "autocode accept ID" in out
    assert base["candidates"][0]["label"].split(" / ")[0] in out


def test_same_seed_gives_identical_candidates(base, study):
    def key(rows, by_id):
        return [(r["label"], r["size"], r["keywords"], r["n_documents"], r["n_participants"],
                 [e["text"] for e in r["examples"]], by_id[r["id"]]) for r in rows]

    first = key(base["candidates"], members(base["root"]))
    again = cli("propose", "--seed", "0", "--project", study, "--coder", "tester")
    assert flat(again.stdout).replace(": the open candidates are kept, with their numbers, since the transcripts and "
                                      "settings are as they were (another --seed clusters again)", "") == flat(
                                          base["propose"].stdout)
    second = key(cli_json("candidates", "--project", study), members(study))
    assert second == first
    assert [e["action"] for e in log(study)][-2:] == ["propose", "propose"]


# -- review: accept, merge, reject -------------------------------------------------------------

def test_accept_makes_codings_by_that_coder(study, tmp_path):
    cand = cli_json("candidates", "--project", study)[0]
    out = flat(cli("accept", cand["id"], "--theme", "contribution", "--name", "Peer value",
                   "--coder", "reviewer", "--project", study).stdout)
    assert f"Candidate {cand['id']} is now code 'Peer value' (peer_value) under theme 'What PSWs add, and at what cost'" in out
    assert f"with {cand['size']} coded utterances" in out

    export = tmp_path / "reviewer.csv"
    assert f"Wrote {cand['size']} rows" in flat(
        cli("export", "--coder", "reviewer", "--out", export, "--project", study).stdout)
    rows = read_csv(export)
    assert len(rows) == cand["size"]
    assert {r["coder"] for r in rows} == {"reviewer"}
    assert {r["code"] for r in rows} == {"peer_value"}
    assert {r["theme"] for r in rows} == {"contribution"}
    assert {e["text"] for e in cand["examples"]} <= {r["text"] for r in rows}

    # the candidate is decided: gone from the open list, shown with --all
    assert cand["id"] not in [c["id"] for c in cli_json("candidates", "--project", study)]
    decided = {c["id"]: c for c in cli_json("candidates", "--all", "--project", study)}
    assert decided[cand["id"]]["status"] == "accepted" and decided[cand["id"]]["code"] == "peer_value"
    entry = log(study)[-1]
    assert entry["action"] == "accept" and entry["coder"] == "reviewer"
    assert entry["details"]["code"] == "peer_value" and entry["details"]["codings"] == cand["size"]


def test_accept_into_an_existing_code(study, tmp_path):
    cand = cli_json("candidates", "--project", study)[1]
    out = flat(cli("accept", cand["id"], "--code", "credibility", "--coder", "reviewer", "--project", study).stdout)
    assert (f"Added candidate {cand['id']}'s {cand['size']} utterances to the existing code 'Credibility and rapport' "
            f"(credibility, theme 'What lived experience brings'), which now codes {cand['size']}.") in out
    cli("export", "--coder", "reviewer", "--out", tmp_path / "r.csv", "--project", study)
    assert {r["code"] for r in read_csv(tmp_path / "r.csv")} == {"credibility"}


def test_a_new_code_named_as_a_code_of_another_theme_is_refused_not_merged(study):
    cand = cli_json("candidates", "--project", study)[1]
    result = CliRunner().invoke(app, ["accept", str(cand["id"]), "--theme", "role_ambiguity", "--name",
                                      "Credibility and rapport", "--project", str(study)])
    said = flat(result.output)
    assert result.exit_code == 1 and "a code called 'Credibility and rapport' already exists, under theme " \
        "'What lived experience brings'" in said and "--code credibility" in said
    assert cand["id"] in [c["id"] for c in cli_json("candidates", "--project", study)]   # still open
    out = flat(cli("accept", cand["id"], "--theme", "lived_experience", "--name", "Credibility and rapport",
                   "--project", study).stdout)   # the same theme: adding to it is what was meant
    assert "to the existing code 'Credibility and rapport'" in out


def test_merge_and_reject(study, tmp_path):
    a, b, c = cli_json("candidates", "--project", study)[:3]
    out = flat(cli("merge", a["id"], b["id"], "--theme", "role_ambiguity", "--name", "Merged idea",
                   "--coder", "reviewer", "--project", study).stdout)
    assert (f"Merged 2 candidates into code 'Merged idea' (merged_idea) under theme 'An unclear role', "
            f"{a['size'] + b['size']} coded utterances.") in out
    assert flat(cli("reject", c["id"], "--reason", "just chit-chat", "--coder", "reviewer",
                    "--project", study).stdout) == "Rejected 1 candidate(s)."

    status = {x["id"]: (x["status"], x["code"]) for x in cli_json("candidates", "--all", "--project", study)}
    assert status[a["id"]] == status[b["id"]] == ("merged", "merged_idea")
    assert status[c["id"]] == ("rejected", None)
    open_ids = [x["id"] for x in cli_json("candidates", "--project", study)]
    assert not {a["id"], b["id"], c["id"]} & set(open_ids)

    cli("export", "--coder", "reviewer", "--out", tmp_path / "r.csv", "--project", study)
    rows = read_csv(tmp_path / "r.csv")
    assert len(rows) == a["size"] + b["size"]
    assert {r["code"] for r in rows} == {"merged_idea"} and {r["theme"] for r in rows} == {"role_ambiguity"}

    merge, reject = log(study)[-2:]
    assert merge["action"] == "merge" and sorted(merge["details"]["candidates"]) == sorted([a["id"], b["id"]])
    assert reject["action"] == "reject" and reject["details"] == {"candidates": [c["id"]], "reason": "just chit-chat"}
    assert merge["coder"] == reject["coder"] == "reviewer"


# -- the codebook -------------------------------------------------------------------------------

def test_codebook_json_tree(base):
    book = cli_json("codebook", "--project", base["root"])
    source = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    assert [t["id"] for t in book["themes"]] == [t["id"] for t in source["themes"]]
    for theme, src in zip(book["themes"], source["themes"]):
        assert set(theme) == {"id", "name", "definition", "codes"}
        assert theme["name"] == src["name"]
        assert [c["id"] for c in theme["codes"]] == [c["id"] for c in src["codes"]]
        for code in theme["codes"]:
            assert set(code) == {"id", "name", "definition"} and code["name"] and code["definition"]
    assert sum(len(t["codes"]) for t in book["themes"]) == 17


def test_codebook_tree_view(base):
    out = flat(cli("codebook", "--project", base["root"]).stdout)
    assert "Codebook" in out and "What lived experience brings" in out
    assert "Credibility and rapport (credibility, 0 utterances coded by people)" in out


def test_theme_and_code_edits(study):
    assert flat(cli("theme", "add", "Workforce", "--definition", "Staffing and jobs.", "--coder", "ed",
                    "--project", study).stdout) == "Created theme 'Workforce' (workforce)."
    assert flat(cli("theme", "rename", "workforce", "Workforce issues", "--coder", "ed",
                    "--project", study).stdout) == "Theme workforce is now called 'Workforce issues'."
    assert flat(cli("code", "rename", "credibility", "Trust", "--coder", "ed",
                    "--project", study).stdout) == "Code credibility is now called 'Trust'."
    assert flat(cli("code", "move", "Trust", "Workforce issues", "--coder", "ed",
                    "--project", study).stdout) == "Code 'Trust' is now under theme 'Workforce issues' (workforce)."

    book = cli_json("codebook", "--project", study)
    themes = {t["id"]: t for t in book["themes"]}
    assert book["themes"][-1]["id"] == "workforce"
    assert themes["workforce"]["name"] == "Workforce issues"
    assert themes["workforce"]["definition"] == "Staffing and jobs."
    assert themes["workforce"]["codes"] == [{"id": "credibility", "name": "Trust", "definition":
                                             next(c["definition"] for t in yaml.safe_load(CODEBOOK.read_text())["themes"]
                                                  for c in t["codes"] if c["id"] == "credibility")}]
    assert "credibility" not in [c["id"] for c in themes["lived_experience"]["codes"]]

    entries = log(study)[-4:]
    assert [e["action"] for e in entries] == ["add-theme", "rename-theme", "rename-code", "move-code"]
    assert {e["coder"] for e in entries} == {"ed"}
    assert entries[2]["details"] == {"code": "credibility", "old": "Credibility and rapport", "new": "Trust"}
    assert entries[3]["details"] == {"code": "credibility", "old": "lived_experience", "new": "workforce"}


def test_codebook_export_import_round_trip(study, tmp_path):
    cand = cli_json("candidates", "--project", study)[0]
    cli("accept", cand["id"], "--theme", "contribution", "--name", "Peer value", "--project", study)
    cli("theme", "add", "Workforce", "--project", study)
    cli("code", "move", "credibility", "workforce", "--project", study)
    original = cli_json("codebook", "--project", study)

    printed = cli("codebook", "export", "--project", study).stdout
    assert yaml.safe_load(printed) == original
    exported = tmp_path / "book.yaml"
    assert flat(cli("codebook", "export", "--out", exported, "--project", study).stdout) == f"Wrote the codebook to {exported}."
    assert exported.read_text(encoding="utf-8") == printed

    fresh = tmp_path / "fresh"
    cli("init", fresh)
    assert cli_json("codebook", "--project", fresh) == {"themes": []}
    out = flat(cli("codebook", "import", exported, "--project", fresh).stdout)
    assert out == f"Imported 6 themes and 18 codes from {exported}."
    assert cli_json("codebook", "--project", fresh) == original
    assert cli("codebook", "export", "--project", fresh).stdout == printed


# -- the decision log ---------------------------------------------------------------------------

def test_log_lists_every_decision_with_time_and_coder(study):
    cands = cli_json("candidates", "--project", study)
    cli("accept", cands[0]["id"], "--theme", "contribution", "--name", "A", "--coder", "ann", "--project", study)
    cli("merge", cands[1]["id"], cands[2]["id"], "--theme", "contribution", "--name", "B", "--coder", "ben",
        "--project", study)
    cli("reject", cands[3]["id"], "--coder", "cat", "--project", study)
    cli("theme", "add", "New theme", "--coder", "dan", "--project", study)
    cli("theme", "rename", "new_theme", "Newer theme", "--coder", "dan", "--project", study)
    cli("code", "rename", "a", "A2", "--coder", "eve", "--project", study)
    cli("code", "move", "a", "new_theme", "--coder", "eve", "--project", study)

    entries = log(study)
    assert [e["action"] for e in entries] == [
        "import-codebook", "add", "propose", "accept", "merge", "reject",
        "add-theme", "rename-theme", "rename-code", "move-code"]
    assert [e["coder"] for e in entries] == ["tester"] * 3 + ["ann", "ben", "cat", "dan", "dan", "eve", "eve"]
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    times = [datetime.fromisoformat(e["time"]) for e in entries]
    assert all(t.tzinfo is not None for t in times) and times == sorted(times)
    assert all(isinstance(e["details"], dict) for e in entries)
    assert entries[1]["details"]["added"] == DOCS
    assert entries[2]["details"]["seed"] == 0

    assert cli_json("log", "--limit", "2", "--project", study) == entries[-2:]
    table = flat(cli("log", "--project", study).stdout)
    for action in ("import-codebook", "propose", "move-code"):
        assert action in table
    assert "added: D01, D02, D03, D04" in table and '{"' not in table     # read as words, not JSON
    assert "Times are this computer's" in table


# -- import-codings, train, suggest ----------------------------------------------------------

def test_import_codings_uses_the_coder_column(trained):
    source = read_csv(DATA / "codings" / "alice_D01-D03.csv")
    assert {r["coder"] for r in source} == {"alice"}
    out = flat(trained["imported"].stdout)
    assert re.fullmatch(rf"Imported (\d+) codings and (\d+) 'no code' decisions from {len(source)} rows "
                        r"for 3 document\(s\), as the codings of alice\. \(Rows coding parts of one utterance with the same code make "
                        r"one coding\.\)", out), out
    p = Project(trained["root"])
    try:
        coders = {r[0] for r in p.conn.execute("SELECT DISTINCT coder FROM codings")}
        assert coders == {"alice", "reviewer", "machine"}
        docs = {r[0] for r in p.conn.execute(
            "SELECT DISTINCT u.document FROM codings c JOIN utterances u ON u.id = c.utterance WHERE c.coder = 'alice'")}
        assert docs == {"D01", "D02", "D03"}
        codes = {r[0] for r in p.conn.execute("SELECT DISTINCT code FROM codings WHERE coder = 'alice'")}
        assert codes - {""} <= {r["code"] for r in source}
    finally:
        p.close()
    entry = next(e for e in log(trained["root"]) if e["action"] == "import-codings")
    assert entry["details"]["coders"] == ["alice"] and entry["details"]["rows"] == len(source)


def test_import_codings_coder_option_overrides_the_column(base, tmp_path):
    root = copy_project(base["root"], tmp_path / "p")
    cli("import-codings", DATA / "codings" / "alice_D01-D03.csv", "--coder", "carol", "--project", root)
    cli("export", "--out", tmp_path / "all.csv", "--project", root)
    assert {r["coder"] for r in read_csv(tmp_path / "all.csv")} == {"carol"}


def test_train_json_has_cross_validation_for_codes_and_themes(trained):
    m = trained["metrics"]
    assert m["coder"] == "alice"
    assert m["utterances"] > 0 and m["codes"] and "" not in m["codes"]
    assert sum(m["counts"].values()) == m["utterances"]
    cv = m["cross_validation"]
    assert cv["documents"] == 3 and cv["folds"] == 3
    for level in ("codes", "themes"):
        figures = cv[level]
        assert figures["n_units"] == m["utterances"]
        assert -1.0 <= figures["cohen_kappa"] <= 1.0
        assert 0.0 <= figures["macro_f1"] <= 1.0
        assert 0.0 <= figures["percent_agreement"] <= 100.0
    assert cv["themes"]["percent_agreement"] >= cv["codes"]["percent_agreement"]
    entry = next(e for e in log(trained["root"]) if e["action"] == "train")
    assert entry["coder"] == "alice" and entry["details"]["cross_validation"] == cv


def test_train_table_output(trained, tmp_path):
    root = copy_project(trained["root"], tmp_path / "p")
    saved = tmp_path / "alice.npz"
    out = flat(cli("train", "--coder", "alice", "--out", saved, "--project", root).stdout)
    assert f"Trained on {trained['metrics']['utterances']} utterances coded by alice" in out
    assert f"also learnt from the codebook's definitions of {trained['metrics']['definitions']} codes" in out
    assert "Cross-validated by document (3 folds), codes: kappa" in out
    assert "Cross-validated by document (3 folds), themes: kappa" in out
    assert saved.is_file() and saved.stat().st_size > 0


def test_train_no_cv_skips_cross_validation(trained, tmp_path):
    root = copy_project(trained["root"], tmp_path / "p")
    m = json.loads(cli("train", "--coder", "alice", "--no-cv", "--json", "--project", root).stdout)
    assert "cross_validation" not in m and m["fine_tuned"] is False
    out = flat(cli("train", "--coder", "alice", "--no-cv", "--project", root).stdout)
    assert "Cross-validated" not in out and "Next: autocode suggest" in out


def test_train_warns_when_tuning_settings_are_set_but_tuning_is_off(trained, tmp_path):
    import tomllib

    import tomli_w

    root = copy_project(trained["root"], tmp_path / "p")
    toml = tomllib.loads((root / "autocode.toml").read_text(encoding="utf-8"))
    toml["classifier"]["fine_tune_reading"] = "both"
    (root / "autocode.toml").write_text(tomli_w.dumps(toml), encoding="utf-8")
    out = flat(cli("train", "--coder", "alice", "--no-cv", "--project", root).output)
    assert "Warning: fine_tune_reading under [classifier] in autocode.toml only applies when" in out
    assert "add --fine-tune (or set fine_tune = true) to use it" in out and "Trained on" in out


def test_suggest_writes_machine_rows_with_reasons(trained):
    rows = trained["suggestions"]
    assert rows, "no suggestions written"
    assert list(rows[0]) == ["document", "utterance", "start", "end", "speaker", "text", "code", "code name", "theme",
                             "theme name", "coder", "confidence", "reason"]
    book = cli_json("codebook", "--project", trained["root"])
    theme_of = {c["id"]: t["id"] for t in book["themes"] for c in t["codes"]}
    trained_codes = set(trained["metrics"]["codes"])
    for r in rows:
        assert r["document"] == "D08" and r["coder"] == "machine"
        assert 0.0 < float(r["confidence"]) <= 1.0
        assert r["reason"].startswith("closest confirmed examples: \u201c")
        assert r["text"].strip() and r["speaker"] != "Interviewer"
        if r["code"]:
            assert r["code"] in trained_codes and r["theme"] == theme_of[r["code"]]
        else:
            assert r["theme"] == ""
    assert any(r["code"] for r in rows)
    out = flat(trained["suggested"].stdout)
    assert f"Suggested codes for {len(rows)} utterances" in out and "Wrote all suggestions to" in out
    assert "D08: " in out and "Interviewer (not coded)" in out   # who speaks in the file it added, as add shows
    assert [e["action"] for e in log(trained["root"])][-2:] == ["add", "suggest"]


# -- export and import-codings round-trip --------------------------------------------------------

def test_export_import_codings_round_trip(trained, tmp_path):
    src = trained["root"]
    first = tmp_path / "first.csv"
    n = int(re.search(r"Wrote (\d+) rows", flat(cli("export", "--format", "csv", "--out", first,
                                                        "--project", src).stdout)).group(1))
    rows = read_csv(first)
    assert len(rows) == n > 0
    assert {r["coder"] for r in rows} == {"alice", "reviewer", "machine"}

    book = tmp_path / "book.yaml"
    cli("codebook", "export", "--out", book, "--project", src)
    fresh = tmp_path / "fresh"
    cli("init", fresh, "--codebook", book)
    cli("add", *[TRANSCRIPTS / f"{d}.txt" for d in DOCS + ["D08"]], "--project", fresh)
    out = flat(cli("import-codings", first, "--project", fresh).stdout)
    assert f"from {n} rows for 5 document(s)" in out

    second = tmp_path / "second.csv"
    cli("export", "--out", second, "--project", fresh)
    assert second.read_bytes() == first.read_bytes()


# -- display --------------------------------------------------------------------------------------

def test_candidates_table_shows_quotes_verbatim(tmp_path):
    topics = ["the ward rounds were long", "my team liked the peer worker", "supervision was hard to get",
              "the money ran out quickly", "patients trusted her more"]
    lines = []
    for i in range(30):
        lines += [f"Interviewer: Question number {i}?",
                  f"P1: [laughs] Well, {topics[i % 5]}, honestly, that is what I remember most."]
    transcript = tmp_path / "laughs.txt"
    transcript.write_text("\n".join(lines) + "\n", encoding="utf-8")
    root = tmp_path / "p"
    cli("init", root)
    cli("add", transcript, "--project", root)
    cli("propose", "--seed", "0", "--min-cluster-size", "3", "--project", root)
    assert all("[laughs]" in e["text"] for c in cli_json("candidates", "--project", root) for e in c["examples"])
    assert "[laughs]" in cli("candidates", "--project", root).stdout


# -- split, undo and redo on the command line ------------------------------------------------------------

def test_split_undo_and_redo_commands(demo_project):
    from typer.testing import CliRunner

    from autocode.cli import app
    from autocode.cluster import propose

    propose(demo_project)
    root = str(demo_project.root)
    cid = demo_project.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY size DESC").fetchone()[0]
    runner = CliRunner()
    r = runner.invoke(app, ["split", str(cid), "-p", root, "--coder", "zoe"])
    assert r.exit_code == 0 and f"Split candidate {cid} into candidates" in r.output
    r = runner.invoke(app, ["undo", "-p", root])
    assert r.exit_code == 0 and "Undone: split" in r.output
    assert demo_project.conn.execute("SELECT status FROM candidates WHERE id = ?", (cid,)).fetchone()[0] == "open"
    assert runner.invoke(app, ["redo", "-p", root]).exit_code == 0
    assert demo_project.conn.execute("SELECT status FROM candidates WHERE id = ?", (cid,)).fetchone()[0] == "split"
    r = runner.invoke(app, ["redo", "-p", root])
    assert r.exit_code == 1 and "nothing to redo" in r.output and "Traceback" not in r.output


def test_review_refuses_a_port_out_of_range(demo_project):
    from typer.testing import CliRunner

    from autocode.cli import app

    r = CliRunner().invoke(app, ["review", "--port", "80", "--no-browser", "-p", str(demo_project.root)])
    assert r.exit_code == 1 and "between 1024 and 65535" in r.output


def test_train_says_how_many_utterances_borrowed_codes_and_how_to_stop_it():
    from autocode.cli_train import _borrowed_words

    one, many = _borrowed_words(1, 0.5), _borrowed_words(6, 0.5)
    assert "1 uncoded utterance in" in one and "6 uncoded utterances in" in many
    assert "counting 0.5 of a coded one" in many and "'borrowed_weight' under [classifier]" in many


def test_train_prints_the_setting_in_brackets_not_as_markup(demo_project, monkeypatch):
    metrics = {"coder": "alice", "utterances": 10, "codes": ["a"], "borrowed": 3, "borrowed_weight": 0.5}
    monkeypatch.setattr("autocode.learn.train", lambda *a, **k: metrics)
    r = CliRunner().invoke(app, ["train", "--coder", "alice", "--no-cv", "--project", str(demo_project.root)],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "3 uncoded utterances" in r.output and "under [classifier] in autocode.toml" in r.output


def test_documents_lists_who_speaks_and_the_codings(demo_project):
    rows = cli_json("documents", "--project", demo_project.root)
    assert [d["document"] for d in rows] == [f"D0{i}" for i in range(1, 8)]
    d01 = rows[0]
    assert d01["speakers"][0] == {"speaker": "Interviewer", "interviewer": True,
                                  "utterances": d01["speakers"][0]["utterances"]}
    n = demo_project.conn.execute("SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                                  "WHERE u.document = 'D01'").fetchone()[0]
    assert d01["codings"] == n and d01["utterances"] == sum(s["utterances"] for s in d01["speakers"])
    text = flat(cli("documents", "--project", demo_project.root).output)
    assert "7 transcript(s)" in text and "Interviewer (not coded)" in text and "--interviewer NAME" in text


def test_codebook_counts_people_and_suggestions_apart(demo_project):
    with demo_project.transaction() as conn:
        uid = conn.execute("SELECT id FROM utterances WHERE is_interviewer = 0 LIMIT 1").fetchone()[0]
        conn.execute("INSERT INTO codings (utterance, code, coder, created_at) VALUES (?, 'credibility', 'machine', 'x')", (uid,))
    people = demo_project.conn.execute("SELECT COUNT(DISTINCT utterance) FROM codings WHERE code = 'credibility' "
                                       "AND coder != 'machine'").fetchone()[0]   # alice and bob on one: once
    text = flat(cli("codebook", "--project", demo_project.root).output).replace("│ ", "")
    assert f"Credibility and rapport (credibility, {people} utterances coded by people, 1 suggested)" in text


def test_accept_suggestions_above_a_confidence_on_the_command_line(tmp_path, _review_template):
    import shutil

    root = tmp_path / "p"
    shutil.copytree(_review_template, root)
    undecided = query(root, "SELECT COUNT(*) FROM codings WHERE coder = 'machine' AND confidence >= 0.5")[0][0]
    text = flat(cli("accept-suggestions", "--above", "0.5", "--coder", "carol", "--project", root).output)
    assert f"Accepted {undecided} suggestion(s) with confidence 0.5 or more" in text
    assert query(root, "SELECT COUNT(*) FROM codings WHERE coder = 'carol'")[0][0] == undecided
    again = flat(cli("accept-suggestions", "--above", "0.5", "--coder", "carol", "--project", root).output)
    assert "No undecided suggestion" in again


def test_training_another_coder_says_which_classifier_it_replaced(tmp_path, _trained_template):
    import shutil

    root = tmp_path / "p"
    shutil.copytree(_trained_template[0], root)
    result = cli("train", "--coder", "bob", "--no-cv", "--project", root)
    text = flat(result.output)
    assert "it replaced the one that learnt from alice's" in text and "autocode train --coder alice" in text
    assert "Wrote" in flat(cli("export", "--out", tmp_path / "x.csv", "--project", root).output)


def test_slips_with_classifiers_and_candidates_are_said(tmp_path, _review_template):
    import shutil

    root = tmp_path / "p"
    shutil.copytree(_review_template, root)
    text = flat(cli("accept-suggestions", "--above", "0.5", "--coder", "carol", "--project", root).output)
    assert "the classifier learns from alice's codings, and these are carol's" in text
    model = tmp_path / "m.npz"
    text = flat(cli("train", "--coder", "alice", "--no-cv", "--out", model, "--project", root).output)
    assert f"Saved the classifier to {model}" in text
    text = flat(cli("candidates", "--all", "--project", root).output)
    assert "decided" in text


def test_a_classifier_from_another_codebook_is_named_before_its_suggestions(tmp_path):
    from typer.testing import CliRunner

    book = tmp_path / "book.yaml"
    book.write_text("themes:\n  - id: t\n    codes:\n      - id: only_code\n", encoding="utf-8")
    root = tmp_path / "p"
    cli("init", root, "--codebook", book)
    result = CliRunner().invoke(app, ["suggest", str(TRANSCRIPTS / "D08.txt"), "--classifier",
                                      str(Path(__file__).parent.parent / "models" / "psw-demo.npz"), "--project", str(root)])
    assert result.exit_code == 0 and "code(s) this project's codebook does not have" in flat(result.output)


# -- help --------------------------------------------------------------------------------------

def _commands(group, path=()):
    for name, sub in group.commands.items():
        yield (*path, name)
        if hasattr(sub, "commands"):
            yield from _commands(sub, (*path, name))


def test_every_help_shows_flags_bare_not_as_taking_a_value():
    """typer labels a flag '<bool>', which a researcher reads as '--json true'."""
    import typer

    commands = list(_commands(typer.main.get_command(app)))
    assert len(commands) > 20 and ("codebook", "export") in commands
    for path in [(), *commands]:
        text = flat(cli(*path, "--help").output)
        assert "<bool>" not in text and "--help" in text, path
