"""`next_to_confirm` / `autocode next`: the uncoded utterances a person should code first."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocode import AutocodeError, Project, next_to_confirm, suggest, train
from autocode.cli import app
from autocode.corpus import add_files
from conftest import DATA

KEYS = {"utterance_id", "document", "utterance", "speaker", "text", "start", "end", "code", "theme",
        "confidence", "uncertainty", "reason"}


@pytest.fixture(scope="module")
def _trained_template(_demo_project_template, tmp_path_factory) -> Path:
    """The demo project trained on alice's coding, with D08 added and its embeddings cached."""
    root = tmp_path_factory.mktemp("next") / "proj"
    shutil.copytree(_demo_project_template, root)
    p = Project(root)
    train(p, "alice", evaluate=False)
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    next_to_confirm(p, n=1)  # fills the embedding cache
    p.close()
    return root


@pytest.fixture
def trained(_trained_template, tmp_path):
    p = Project(shutil.copytree(_trained_template, tmp_path / "proj"))
    yield p
    p.close()


def decisions_and_codings(p) -> list:
    return [p.conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in ("codings", "decisions", "classifiers")]


def test_lists_the_least_certain_uncoded_utterances_first(trained):
    # falling uncertainty over all 10 because they come from 10 different answers (one per answer first)
    rows = next_to_confirm(trained, n=10)
    assert len(rows) == 10 and all(KEYS <= set(r) for r in rows)
    u = [r["uncertainty"] for r in rows]
    assert u == sorted(u, reverse=True) and all(0 <= x <= 1 for x in u)
    human = {r[0] for r in trained.conn.execute("SELECT utterance FROM codings WHERE coder != 'machine'")}
    assert not any(r["utterance_id"] in human for r in rows)
    assert all(r["speaker"] != "Interviewer" for r in rows)


def test_the_most_uncertain_are_less_confident_than_the_rest(trained):
    everything = next_to_confirm(trained, n=10_000)
    first, rest = everything[:15], everything[15:]
    mean = lambda rows: sum(r["confidence"] for r in rows) / len(rows)
    assert rest and mean(first) < mean(rest)


def test_writes_nothing_to_the_project(trained):
    before = decisions_and_codings(trained)
    next_to_confirm(trained, n=5)
    assert decisions_and_codings(trained) == before


def test_rows_match_what_suggest_would_store(trained):
    rows = next_to_confirm(trained, n=8, documents=["D08"])
    assert {r["document"] for r in rows} == {"D08"}
    stored = {r["utterance_id"]: r for r in suggest(trained, ["D08"])}
    for r in rows:
        s = stored[r["utterance_id"]]
        assert (r["code"], r["theme"], r["confidence"], r["reason"]) == (s["code"], s["theme"], s["confidence"], s["reason"])


def test_unknown_document_is_a_plain_error(trained):
    with pytest.raises(AutocodeError, match="no document called 'X9'"):
        next_to_confirm(trained, documents=["X9"])


def test_without_a_classifier_it_says_so(demo_project):
    with pytest.raises(AutocodeError, match="no classifier"):
        next_to_confirm(demo_project)


def test_cli_next_lists_them_as_json_and_as_a_table(trained):
    root = str(trained.root)
    result = CliRunner().invoke(app, ["next", "--n", "4", "--documents", "D08", "--json", "--project", root])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4 and all(KEYS <= set(r) for r in rows)
    assert rows == next_to_confirm(trained, n=4, documents=["D08"])
    table = CliRunner().invoke(app, ["next", "--n", "3", "--project", root])
    assert table.exit_code == 0 and "margin" in table.stdout and "autocode train" in " ".join(table.stdout.split())


def test_cli_next_without_a_classifier_says_what_to_do(demo_project):
    result = CliRunner().invoke(app, ["next", "--project", str(demo_project.root)])
    assert result.exit_code == 1 and "no classifier has been trained" in result.output
    assert "Traceback" not in result.output


def test_asks_about_different_answers_before_a_second_utterance_of_one(trained):
    """An answer's utterances are uncertain together; one code teaches the answer, so the list
    spreads over answers."""
    from autocode.corpus import utterances
    from autocode.features import Surroundings

    every = utterances(trained.conn, ["D08"])
    answer = dict(zip((u.id for u in every), Surroundings.of(trained.conn, every).answers))
    rows = next_to_confirm(trained, n=10_000, documents=["D08"])
    first = len(set(answer.values()))
    assert len({answer[r["utterance_id"]] for r in rows[:first]}) == first < len(rows)
    u = [r["uncertainty"] for r in rows[:first]]
    assert u == sorted(u, reverse=True)
