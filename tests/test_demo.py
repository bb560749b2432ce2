"""`autocode demo` runs the whole flow on data/ and says what happened at each step."""
from __future__ import annotations

import csv

import pytest

from autocode.demo import find_data, run_demo
from autocode.errors import AutocodeError
from conftest import DATA


def test_demo_runs_every_step_and_keeps_the_project(tmp_path):
    said: list[str] = []
    result = run_demo(DATA, tmp_path / "demo", say=said.append)
    text = "\n".join(said)
    for step in ("1. Created", "2. Added", "3. Clustered", "4. As reviewer", "5. Imported", "6. Trained",
                 "7. Suggested", "8. Exported"):
        assert step in text
    assert result["candidates"] >= 4 and result["accepted"] == 1 and result["merged"] == 2
    assert result["theme_kappa"] > 0.3 and result["suggested"] > 50
    rows = list(csv.DictReader((tmp_path / "demo" / "codings.csv").open(encoding="utf-8-sig")))
    assert len(rows) == result["exported"]
    assert {"alice", "bob", "demo-reviewer", "machine"} <= {r["coder"] for r in rows}
    suggested = list(csv.DictReader((tmp_path / "demo" / "suggestions.csv").open(encoding="utf-8-sig")))
    assert {r["document"] for r in suggested} == {"D08"}
    assert f"autocode review --project {tmp_path / 'demo'}" in text
    _the_kept_project_opens_in_the_review_page(tmp_path / "demo")


def _the_kept_project_opens_in_the_review_page(root):
    from fastapi.testclient import TestClient

    from autocode.web import create_app

    client = TestClient(create_app(root, "newcomer", token="t"), base_url="http://127.0.0.1")
    assert client.get("/api/candidates").json()["candidates"]
    assert len(client.get("/api/codebook").json()["book"]) == 5
    assert client.get("/api/suggestions?document=D08").json()["undecided"] > 50


def test_demo_corpus_is_complete():
    names = sorted(p.name for p in (DATA / "transcripts").iterdir())
    assert len(names) >= 6 and "D08.txt" in names
    assert (DATA / "codebook.yaml").is_file() and list((DATA / "codings").glob("*.csv"))


def test_missing_corpus_is_a_plain_error(tmp_path):
    with pytest.raises(AutocodeError, match="demo corpus"):
        find_data(tmp_path)
