"""The browser review's HTTP API: every endpoint, its refusals, and its guard against other sites.

Browser-driven tests are in test_web_browser.py; these need no browser.
"""
from __future__ import annotations

import html
import json
import re
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from autocode import Project, review
from autocode.web import TOKEN_HEADER, create_app
from conftest import query as rows

TOKEN = "test-token"
OK = {TOKEN_HEADER: TOKEN}


@pytest.fixture
def root(_review_template, tmp_path):
    target = tmp_path / "proj"
    shutil.copytree(_review_template, target)
    return target


@pytest.fixture
def client(root):
    return TestClient(create_app(root, "carol", token=TOKEN), base_url="http://127.0.0.1")


def open_ids(root):
    return [r[0] for r in rows(root, "SELECT id FROM candidates WHERE status = 'open' ORDER BY size DESC, id")]


def last_action(root):
    return rows(root, "SELECT action, coder FROM decisions ORDER BY id DESC LIMIT 1")[0]


# -- pages ---------------------------------------------------------------------------------------------

def test_the_page_carries_the_token_and_every_view_renders(client, root):
    page = client.get("/")
    assert page.status_code == 200 and f'content="{TOKEN}"' in page.text
    label = rows(root, "SELECT label FROM candidates WHERE status = 'open' ORDER BY id LIMIT 1")[0][0]
    assert label in client.get("/part/candidates").text
    codebook = client.get("/part/codebook").text
    assert "What lived experience brings" in codebook and "Themes by participant" in codebook
    assert "% sure" in client.get("/part/suggestions?document=D08").text
    assert "propose" in client.get("/part/log").text


def test_a_card_shows_examples_with_speaker_and_document(client):
    card = client.get("/api/candidates").json()["candidates"][0]
    assert card["size"] >= len(card["examples"]) >= 3
    assert {"speaker", "document", "text"} <= set(card["examples"][0])
    assert card["n_documents"] >= 1 and card["n_participants"] >= 1


def test_an_opened_candidate_shows_every_member_in_context(client, root):
    cid = open_ids(root)[0]
    data = client.get(f"/api/candidates/{cid}").json()
    assert len(data["members"]) == data["candidate"]["size"]
    assert any(m["before"] for m in data["members"]) and any(m["after"] for m in data["members"])
    assert str(escape(data["members"][0]["text"])) in client.get(f"/part/candidate/{cid}").text
    card = next(c for c in client.get("/api/candidates").json()["candidates"] if c["id"] == cid)
    assert data["candidate"]["nearest_theme"] == card["nearest_theme"]   # opened or not, Accept offers the same theme
    assert f'data-theme="{card["nearest_theme"]}"' in client.get(f"/part/candidate/{cid}").text
    size = len(data["members"])
    few = client.get(f"/part/candidate/{cid}?shown=2").text   # a large candidate is drawn a hundred at a time
    assert few.count('class="member item"') == 2 and f"of {size}." in few and f'data-shown="{2 + 100}"' in few
    assert size > 100 or 'data-action="show-more"' not in client.get(f"/part/candidate/{cid}").text


def test_the_codebook_has_counts_quotes_and_a_theme_by_participant_matrix(client):
    data = client.get("/api/codebook").json()
    assert data["whose"] == "alice"  # carol has coded nothing yet, so the main coder's counts
    assert len(data["book"]) == 5 and all(t["codes"] for t in data["book"])
    assert any(c["quotes"] for t in data["book"] for c in t["codes"])
    matrix = data["matrix"]
    assert len(matrix["participants"]) == 7 and matrix["themes"][0]["in_words"].endswith("of 7 participants")


# -- decisions on candidates, each checked in the database ---------------------------------------------

def test_accept_with_a_name_definition_and_theme(client, root):
    cid = open_ids(root)[0]
    r = client.post(f"/api/candidates/{cid}/accept", headers=OK,
                    json={"name": "Ward routines", "definition": "Tasks on the ward", "theme": "role_ambiguity"})
    assert r.status_code == 200 and r.json()["codings"] > 0
    assert rows(root, "SELECT status, code FROM candidates WHERE id = ?", cid) == [("accepted", "ward_routines")]
    assert rows(root, "SELECT theme, definition FROM codes WHERE id = 'ward_routines'") == [("role_ambiguity", "Tasks on the ward")]
    assert last_action(root) == ("accept", "carol")


def test_merge_rename_split_reject(client, root):
    a, b, c, d = open_ids(root)[:4]
    assert client.post("/api/candidates/merge", headers=OK, json={"ids": [a, b], "name": "Both", "theme": "contribution"}).status_code == 200
    assert rows(root, "SELECT DISTINCT status FROM candidates WHERE id IN (?, ?)", a, b) == [("merged",)]
    assert client.post(f"/api/candidates/{c}/rename", headers=OK, json={"label": "Clearer label"}).status_code == 200
    assert rows(root, "SELECT label FROM candidates WHERE id = ?", c) == [("Clearer label",)]
    new = client.post(f"/api/candidates/{c}/split", headers=OK, json={"parts": 2}).json()["candidates"]
    assert len(new) == 2 and rows(root, "SELECT status FROM candidates WHERE id = ?", c) == [("split",)]
    assert client.post("/api/candidates/reject", headers=OK, json={"ids": [d]}).json() == {"rejected": 1}
    actions = [r[0] for r in rows(root, "SELECT action FROM decisions ORDER BY id DESC LIMIT 4")]
    assert actions == ["reject", "split", "rename-candidate", "merge"]


def test_remove_and_move_a_single_utterance(client, root):
    cid = open_ids(root)[0]
    members = [m["id"] for m in client.get(f"/api/candidates/{cid}").json()["members"]]
    assert client.post(f"/api/candidates/{cid}/utterances/{members[0]}/remove", headers=OK).status_code == 200
    r = client.post(f"/api/candidates/{cid}/utterances/{members[1]}/move", headers=OK, json={"code": "credibility"})
    assert r.status_code == 200
    assert rows(root, "SELECT size FROM candidates WHERE id = ?", cid) == [(len(members) - 2,)]
    assert rows(root, "SELECT code FROM codings WHERE utterance = ? AND coder = 'carol'", members[1]) == [("credibility",)]


def test_undo_and_redo_through_the_api(client, root):
    cid = open_ids(root)[0]
    client.post("/api/candidates/reject", headers=OK, json={"ids": [cid]})
    assert client.get("/api/state").json()["undo"].startswith("reject")
    assert client.post("/api/undo", headers=OK).json()["action"] == "undo"
    assert cid in open_ids(root)
    client.post("/api/redo", headers=OK)
    assert cid not in open_ids(root)
    assert [r[0] for r in rows(root, "SELECT action FROM decisions ORDER BY id DESC LIMIT 3")] == ["redo", "undo", "reject"]


# -- the codebook --------------------------------------------------------------------------------------

def test_themes_are_created_renamed_and_reordered_and_codes_move(client, root):
    assert client.post("/api/themes", headers=OK, json={"name": "Training needs"}).json()["id"] == "training_needs"
    client.post("/api/themes/training_needs/rename", headers=OK, json={"name": "What PSWs need to learn"})
    client.post("/api/themes/order", headers=OK, json={"ids": ["training_needs"]})
    assert rows(root, "SELECT id, name FROM themes ORDER BY position LIMIT 1") == [("training_needs", "What PSWs need to learn")]
    client.post("/api/codes/credibility/move", headers=OK, json={"theme": "training_needs"})
    client.post("/api/codes/credibility/rename", headers=OK, json={"name": "Trust"})
    client.post("/api/codes/credibility/define", headers=OK, json={"definition": "Patients trust them"})
    assert rows(root, "SELECT theme, name, definition FROM codes WHERE id = 'credibility'") == [
        ("training_needs", "Trust", "Patients trust them")]


def test_codes_merge_and_go_and_an_empty_theme_goes_from_the_codebook_page(client, root):
    page = client.get("/part/codebook").text
    assert 'data-action="merge-code" data-code="credibility"' in page and 'data-action="remove-code"' in page
    assert 'data-action="remove-theme"' not in page   # every theme holds codes
    merged = client.post("/api/codes/hope_recovery/merge", headers=OK, json={"into": "credibility"}).json()
    assert merged["into"]["id"] == "credibility" and merged["codings"] > 0
    assert rows(root, "SELECT COUNT(*) FROM codings WHERE code = 'hope_recovery'") == [(0,)]
    assert client.post("/api/codes/service_feedback/remove", headers=OK, json={"with_codings": True}).json()["codings"] > 0
    client.post("/api/themes", headers=OK, json={"name": "Spare"})
    assert 'data-action="remove-theme" data-theme="spare"' in client.get("/part/codebook").text
    assert client.post("/api/themes/spare/remove", headers=OK).json()["name"] == "Spare"
    assert [r[0] for r in rows(root, "SELECT action FROM decisions ORDER BY id DESC LIMIT 4")] == [
        "remove-theme", "add-theme", "remove-code", "merge-codes"]
    assert last_action(root) == ("remove-theme", "carol")


# -- suggestions -----------------------------------------------------------------------------------------

def test_suggestions_are_accepted_recoded_or_rejected(client, root):
    view = client.get("/api/suggestions?document=D08").json()
    suggested = [r for r in view["rows"] if r["suggested"] is not None]
    u1, u2, u3 = (r["id"] for r in suggested[:3])
    client.post(f"/api/suggestions/{u1}/accept", headers=OK, json={})
    client.post(f"/api/suggestions/{u2}/accept", headers=OK, json={"code": "hope_recovery"})
    client.post(f"/api/suggestions/{u3}/reject", headers=OK)
    got = dict(rows(root, "SELECT utterance, code FROM codings WHERE coder = 'carol'"))
    assert got == {u1: suggested[0]["suggested"], u2: "hope_recovery", u3: ""}
    assert client.get("/api/suggestions?document=D08").json()["undecided"] == view["undecided"] - 3


def test_the_transcript_list_counts_what_is_left_to_decide_and_opens_where_work_is(client, root):
    view = client.get("/api/suggestions").json()
    d08 = next(d for d in view["documents"] if d["id"] == "D08")
    assert view["document"] == "D08" and d08["undecided"] == d08["suggestions"] == view["undecided"] > 0
    first = next(r for r in view["rows"] if r["suggested"] is not None)
    client.post(f"/api/suggestions/{first['id']}/accept", headers=OK, json={})
    page = client.get("/part/suggestions").text
    assert f"D08 ({d08['suggestions'] - 1} of {d08['suggestions']} suggestions to decide)" in page
    client.post("/api/suggestions/accept-above", headers=OK, json={"threshold": 0.0, "documents": None})
    assert "suggestions, all decided)" in client.get("/part/suggestions").text


def test_a_suggestion_changed_since_the_page_showed_it_is_not_accepted_unseen(client, root):
    row = next(r for r in client.get("/api/suggestions?document=D08").json()["rows"] if r["suggested"])
    stale = "hope_recovery" if row["suggested"] != "hope_recovery" else "credibility"
    r = client.post(f"/api/suggestions/{row['id']}/accept", headers=OK, json={"expected": stale})
    assert r.status_code == 409 and "changed since you saw it" in r.json()["error"]
    assert "reload the page" in r.json()["what_to_do"]
    assert rows(root, "SELECT count(*) FROM codings WHERE coder = 'carol'") == [(0,)]
    ok = client.post(f"/api/suggestions/{row['id']}/accept", headers=OK, json={"expected": row["suggested"]})
    assert ok.status_code == 200 and ok.json()["code"] == row["suggested"]


def test_a_code_under_a_new_theme_is_one_step_and_a_failed_one_leaves_no_theme(client, root):
    first, second = open_ids(root)[:2]
    r = client.post(f"/api/candidates/{first}/accept", headers=OK, json={"name": "Night shifts", "new_theme": "Working hours"})
    assert r.status_code == 200 and r.json()["theme"] == "working_hours"
    assert last_action(root) == ("accept", "carol")
    again = client.post(f"/api/candidates/{first}/accept", headers=OK, json={"name": "Y", "new_theme": "Stale theme"})
    assert again.status_code == 409 and rows(root, "SELECT count(*) FROM themes WHERE name = 'Stale theme'") == [(0,)]
    assert client.post("/api/undo", headers=OK).json()["what"].startswith("accept")
    assert rows(root, "SELECT count(*) FROM themes WHERE id = 'working_hours'") == [(0,)]   # one undo takes both back
    assert second in open_ids(root)


def test_accept_above_a_confidence_and_least_certain_first(client, root):
    view = client.get("/api/suggestions?document=D08&order=uncertain").json()
    ranked = view["rows"]
    assert ranked and all(r["verdict"] is None for r in ranked)
    from autocode.learn import next_to_confirm
    p = Project(root)
    try:
        expected = [r["utterance_id"] for r in next_to_confirm(p, 5, ["D08"])]
    finally:
        p.close()
    assert [r["id"] for r in ranked[:5]] == expected  # the same order as `autocode next`
    gaps = [1 - r["uncertainty"] for r in ranked[:5]]   # what sets the order is shown, not only the confidence
    page = client.get("/part/suggestions?document=D08&order=uncertain").text
    gap = round(gaps[0] * 100)
    assert f"the next likeliest is {gap} point{'' if gap == 1 else 's'} behind" in page
    assert "next likeliest" not in client.get("/part/suggestions?document=D08").text
    r = client.post("/api/suggestions/accept-above", headers=OK, json={"threshold": 0.5, "documents": ["D08"]})
    n = sum((x["confidence"] or 0) >= 0.5 for x in ranked)
    assert r.json()["accepted"] == n == rows(root, "SELECT count(*) FROM codings WHERE coder = 'carol'")[0][0]


def test_confirmed_suggestions_train_the_next_classifier(client, root):
    client.post("/api/suggestions/accept-above", headers=OK, json={"threshold": 0.0})
    assert client.get("/api/state").json() | {"trained_coder": "alice", "coder": "carol"} == client.get("/api/state").json()
    refused = client.post("/api/train", headers=OK)   # alice's classifier is not replaced unasked
    assert refused.status_code == 409 and "learnt from alice's codings" in refused.json()["error"]
    assert rows(root, "SELECT coder FROM classifiers ORDER BY id DESC LIMIT 1") == [("alice",)]
    r = client.post("/api/train", headers=OK, json={"replace_other": True})
    assert r.status_code == 200 and r.json()["coder"] == "carol" and r.json()["utterances"] > 0
    assert rows(root, "SELECT coder FROM classifiers ORDER BY id DESC LIMIT 1") == [("carol",)]
    assert client.post("/api/undo", headers=OK).status_code == 200  # training is no barrier to undo
    assert rows(root, "SELECT count(*) FROM codings WHERE coder = 'carol'") == [(0,)]
    first = next(r for r in client.get("/api/suggestions?document=D08").json()["rows"] if r["suggested"] is not None)
    client.post(f"/api/suggestions/{first['id']}/reject", headers=OK)
    assert client.post("/api/suggest", headers=OK, json={"documents": ["D08"]}).json()["suggested"] > 50
    late = client.post("/api/undo", headers=OK)  # suggesting rewrote many rows: undo stops there, plainly
    assert late.status_code == 409 and "suggesting codes (autocode suggest) changed" in late.json()["error"]


# -- exports ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx", "docx", "qdpx", "qdc", "codebook"])
def test_every_export_format_downloads(client, fmt):
    r = client.get(f"/export/{fmt}")
    assert r.status_code == 200 and len(r.content) > 200
    assert "attachment" in r.headers["content-disposition"]


# -- bad requests: a 4xx with a plain message, and nothing changed ----------------------------------------

@pytest.mark.parametrize("method, path, body, status", [
    ("post", "/api/candidates/99999/accept", {}, 404),
    ("post", "/api/candidates/99999/rename", {"label": "x"}, 404),
    ("post", "/api/candidates/99999/split", {}, 404),
    ("post", "/api/candidates/reject", {"ids": [99999]}, 404),
    ("post", "/api/candidates/merge", {"ids": []}, 422),
    ("post", "/api/candidates/merge", {"ids": [1]}, 422),
    ("post", "/api/candidates/reject", {"ids": "all"}, 422),
    ("post", "/api/candidates/abc/accept", {}, 422),
    ("post", "/api/candidates/FIRST/accept", {}, 400),
    ("post", "/api/candidates/FIRST/accept", {"nmae": "typo"}, 422),
    ("post", "/api/candidates/FIRST/accept", {"theme": "no_such_theme", "name": "New"}, 404),
    ("post", "/api/candidates/FIRST/rename", {"label": "   "}, 400),
    ("post", "/api/candidates/FIRST/accept", {"name": "  ", "theme": "contribution"}, 400),
    ("post", "/api/candidates/FIRST/accept", {"name": "X", "new_theme": " "}, 400),
    ("post", "/api/candidates/FIRST/accept", {"name": "X", "new_theme": "What PSWs add, and at what cost"}, 409),
    ("post", "/api/themes", {"name": "  "}, 400),
    ("post", "/api/codes/credibility/rename", {"name": "hope and recovery"}, 409),
    ("post", "/api/themes/contribution/rename", {"name": "What lived experience brings"}, 409),
    ("post", "/api/candidates/FIRST/utterances/99999/remove", None, 404),
    ("post", "/api/themes/no_such/rename", {"name": "x"}, 404),
    ("post", "/api/themes/order", {"ids": ["nope"]}, 404),
    ("post", "/api/codes/no_such/move", {"theme": "contribution"}, 404),
    ("post", "/api/codes/credibility/move", {"theme": "nope"}, 404),
    ("post", "/api/codes/credibility/merge", {"into": "credibility"}, 409),
    ("post", "/api/codes/credibility/merge", {}, 422),
    ("post", "/api/codes/credibility/remove", {}, 409),
    ("post", "/api/themes/contribution/remove", None, 409),
    ("post", "/api/suggestions/99999/accept", {}, 404),
    ("post", "/api/suggestions/accept-above", {"threshold": 80}, 400),
    ("post", "/api/suggestions/accept-above", {}, 422),
    ("post", "/api/suggestions/accept-above", {"threshold": 0.8, "documents": ["NOPE"]}, 400),
    ("post", "/api/candidates/FIRST/split", {"parts": 1}, 400),
    ("post", "/api/redo", None, 409),
    ("get", "/part/nonsense", None, 404),
    ("get", "/api/candidates/99999", None, 404),
    ("get", "/api/suggestions?document=NOPE", None, 404),
    ("get", "/api/suggestions?order=random", None, 404),
    ("get", "/export/pdf", None, 404),
])
def test_bad_requests_get_a_plain_4xx_and_change_nothing(client, root, method, path, body, status):
    from conftest import snapshot

    path = path.replace("FIRST", str(open_ids(root)[0]))
    p = Project(root)
    before = snapshot(p)
    r = client.post(path, headers=OK, json=body) if method == "post" else client.get(path)
    assert r.status_code == status, r.text
    assert r.json()["error"] and "Traceback" not in r.text
    assert snapshot(p) == before
    p.close()


def test_a_mistyped_address_gets_words_and_a_way_back(client):
    page = client.get("/nope<b>")
    assert page.status_code == 404 and "There is no page at /nope&lt;b&gt;" in page.text and 'href="/"' in page.text
    api = client.get("/api/nothing")
    assert api.status_code == 404 and api.json()["error"] == "there is no action at /api/nothing"


def test_a_body_that_is_not_json_is_refused_plainly(client, root):
    r = client.post(f"/api/candidates/{open_ids(root)[0]}/accept", content=b"{not json",
                    headers={**OK, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "the request body is not valid JSON"


# -- other web pages and DNS rebinding ---------------------------------------------------------------------

def test_a_state_change_without_the_token_is_refused(client, root):
    cid = open_ids(root)[0]
    for headers in ({}, {TOKEN_HEADER: "guess"}):
        r = client.post("/api/candidates/reject", headers=headers, json={"ids": [cid]})
        assert r.status_code == 403 and "token" in r.json()["error"]
    assert cid in open_ids(root)


def test_a_request_from_another_origin_is_refused_even_with_the_token(client, root):
    cid = open_ids(root)[0]
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:9999"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        r = client.post("/api/candidates/reject", headers={**OK, **headers}, json={"ids": [cid]})
        assert r.status_code == 403, headers
    assert cid in open_ids(root)
    same = client.post("/api/candidates/reject", headers={**OK, "Origin": "http://127.0.0.1",
                                                           "Sec-Fetch-Site": "same-origin"}, json={"ids": [cid]})
    assert same.status_code == 200


def test_a_foreign_host_header_is_refused_against_dns_rebinding(root):
    app = create_app(root, "carol", token=TOKEN, port=8765)
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example:8765", "127.0.0.1:9999"):
        c = TestClient(app, base_url=f"http://{host}")
        assert c.get("/").status_code == 421, host
        assert c.post("/api/undo", headers=OK).status_code == 421
    assert TestClient(app, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(app, base_url="http://localhost:8765").get("/").status_code == 200


# -- two faces, and two tabs, of one project --------------------------------------------------------------

def test_cli_and_browser_see_each_others_decisions_at_once(client, root):
    a, b = open_ids(root)[:2]
    p = Project(root)
    review.reject(p, [a], coder="dave")  # what the CLI calls
    p.close()
    assert str(a) not in [str(c["id"]) for c in client.get("/api/candidates").json()["candidates"]]
    assert client.get("/api/log").json()[0]["coder"] == "dave"
    client.post("/api/candidates/reject", headers=OK, json={"ids": [b]})
    log = subprocess.run([sys.executable, "-m", "autocode.cli", "log", "--json", "-p", str(root)],
                         capture_output=True, text=True)
    assert json.loads(log.stdout)[-1]["coder"] == "carol"


def test_an_utterance_without_a_suggestion_is_coded_from_the_page(client, root):
    uid = rows(root, "SELECT id FROM utterances WHERE document = 'D01' AND is_interviewer = 0 ORDER BY idx")[0][0]
    page = client.get("/part/suggestions?document=D01").text
    assert f'data-action="code-utterance" data-utterance="{uid}"' in page
    assert client.post(f"/api/utterances/{uid}/code", headers=OK, json={"code": "credibility"}).json()["code"] == "credibility"
    client.post(f"/api/utterances/{uid}/code", headers=OK, json={"code": ""})
    assert rows(root, "SELECT code FROM codings WHERE utterance = ? AND coder = 'carol'", uid) == [("",)]
    asked = rows(root, "SELECT id FROM utterances WHERE document = 'D01' AND is_interviewer = 1")[0][0]
    assert client.post(f"/api/utterances/{asked}/code", headers=OK, json={"code": "credibility"}).status_code == 404
    assert last_action(root) == ("code-utterance", "carol")


def test_undo_of_someone_elses_decision_is_named_before_and_after(client, root):
    a = open_ids(root)[0]
    p = Project(root)
    review.reject(p, [a], coder="dave")
    p.close()
    state = client.get("/api/state").json()
    assert state["undo"] == f"rejecting candidate {a}" and state["undo_by"] == "dave" and state["coder"] == "carol"
    assert client.post("/api/undo", headers=OK).json()["by"] == "dave"


def test_the_log_page_reads_as_autocode_log_does(client, root):
    uid, idx = rows(root, "SELECT id, idx FROM utterances WHERE document = 'D08' AND is_interviewer = 0 ORDER BY idx")[0]
    client.post(f"/api/suggestions/{uid}/accept", headers=OK, json={})
    page = client.get("/part/log").text
    assert f"D08 #{idx}" in page and f"utterance: {uid}" not in page
    assert "+00:00" not in page and "cross_validation" not in page


def test_rejected_candidates_are_listed_and_reopen_from_the_page(client, root):
    a = open_ids(root)[0]
    client.post("/api/candidates/reject", headers=OK, json={"ids": [a]})
    page = client.get("/part/candidates").text
    assert "Rejected candidates (1)" in page and f'data-action="reopen" data-id="{a}"' in page
    assert client.post(f"/api/candidates/{a}/reopen", headers=OK).json() == {"reopened": 1}
    assert a in open_ids(root) and "Rejected candidates" not in client.get("/part/candidates").text
    assert client.post(f"/api/candidates/{a}/reopen", headers=OK).status_code == 409


def test_suggestions_show_each_utterances_number_and_say_when_all_is_coded(client, root):
    idx = rows(root, "SELECT idx FROM utterances WHERE document = 'D08' ORDER BY idx DESC LIMIT 1")[0][0]
    assert f"#{idx}</span>" in client.get("/part/suggestions?document=D08").text
    coded = client.get("/part/suggestions?document=D01").text
    assert "Every participant utterance in D01 is coded already by the coder the classifier learns from" in coded
    assert "Retrain and suggest</b>" not in coded


def test_two_tabs_and_the_cli_acting_at_once_lose_no_decision(root):
    ids = open_ids(root)
    tabs = [TestClient(create_app(root, f"tab{i}", token=TOKEN), base_url="http://127.0.0.1") for i in range(2)]
    mine = {0: ids[0:12:2], 1: ids[1:12:2]}
    cli_ids = ids[12:14]
    statuses = []

    def act(i):
        for cid in mine[i]:
            statuses.append(tabs[i].post("/api/candidates/reject", headers=OK, json={"ids": [cid]}).status_code)

    threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
    cli = subprocess.Popen([sys.executable, "-m", "autocode.cli", "reject", *map(str, cli_ids), "-p", str(root),
                            "--coder", "cli"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cli.wait(timeout=120) == 0, cli.stderr.read()
    assert statuses == [200] * 12
    rejected = {r[0] for r in rows(root, "SELECT id FROM candidates WHERE status = 'rejected'")}
    assert rejected == set(ids[:14])
    coders = [r[0] for r in rows(root, "SELECT coder FROM decisions WHERE action = 'reject'")]
    assert sorted(coders) == ["cli"] + ["tab0"] * 6 + ["tab1"] * 6


def test_a_stale_tab_cannot_decide_a_candidate_twice(root):
    cid = open_ids(root)[0]
    tab1, tab2 = (TestClient(create_app(root, n, token=TOKEN), base_url="http://127.0.0.1") for n in ("a", "b"))
    assert tab1.post(f"/api/candidates/{cid}/accept", headers=OK, json={"theme": "contribution"}).status_code == 200
    late = tab2.post("/api/candidates/reject", headers=OK, json={"ids": [cid]})
    assert late.status_code == 409 and "already accepted" in late.json()["error"]


# -- the command ---------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_autocode_review_serves_on_localhost_only(root):
    import httpx

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "autocode.cli", "review", "--no-browser", "--port", str(port),
                               "-p", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200 and "autocode review" in page.text
        if not os.path.exists("/proc/net/tcp"):
            return
        listening = [line for line in open("/proc/net/tcp").read().splitlines()[1:] if f":{port:04X} " in line
                     and line.split()[3] == "0A"]
        assert listening and all(line.split()[1].startswith("0100007F") for line in listening)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_a_busy_port_gets_a_plain_message(root):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.listen()
        r = subprocess.run([sys.executable, "-m", "autocode.cli", "review", "--no-browser", "--port", str(port),
                            "-p", str(root)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "already in use" in r.stderr and "--port" in r.stderr
    assert "Traceback" not in r.stderr


def test_candidates_can_be_found_from_the_page(client, root):
    r = client.post("/api/propose", headers=OK)
    assert r.status_code == 200 and r.json()["candidates"] == len(open_ids(root)) > 5
    assert last_action(root) == ("propose", "carol")
    card = client.get("/api/candidates").json()["candidates"][0]
    assert card["nearest_theme"]  # the accept form starts on the theme of the closest code


def test_codebook_view_says_whose_counts_and_where_the_main_coders_are(client, root):
    """carol's first decision switches the counts to hers; the page says alice's are still there."""
    uid = rows(root, "SELECT c.utterance FROM codings c WHERE c.coder = 'machine' LIMIT 1")[0][0]
    assert client.post(f"/api/suggestions/{uid}/accept", headers=OK, json={}).status_code == 200
    page = " ".join(client.get("/part/codebook").text.split())
    alice = rows(root, "SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = 'alice'")[0][0]
    assert "carol's codings (1 utterance)" in page
    assert f"alice has coded {alice} utterances: start the review with <code>--coder \"alice\"</code>" in page


# -- consensus -------------------------------------------------------------------------------------------

def test_the_consensus_view_takes_agreements_and_settles_one_disagreement_at_a_time(client, root):
    page = client.get("/part/consensus").text
    assert '<option selected>alice</option>' in page and "<option selected>bob</option>" in page
    assert "They both coded 2 transcripts (D01, D04)" in page and "Take the " in page
    agreed = int(re.search(r"Take the (\d+) utterances they coded alike", page).group(1))
    r = client.post("/api/consensus/take-agreed", headers=OK, json={"coders": ["alice", "bob"]}).json()
    assert r["agreed"] == agreed and rows(root, "SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = 'consensus'")[0][0] == agreed
    assert last_action(root) == ("reconcile", "carol")
    page = client.get("/part/consensus?coders=alice,bob").text
    uid = int(re.search(r'data-action="settle-take" data-utterance="(\d+)"', page).group(1))
    codes = html.unescape(re.search(r'data-utterance="%d" data-codes="([^"]+)"' % uid, page).group(1))
    client.post(f"/api/consensus/{uid}", headers=OK, json={"coders": ["alice", "bob"], "codes": json.loads(codes)})
    assert sorted(r[0] for r in rows(root, "SELECT code FROM codings WHERE coder = 'consensus' AND utterance = ?", uid)) \
        == sorted(json.loads(codes))
    assert f'data-utterance="{uid}"' not in client.get("/part/consensus").text   # settled: off the list
    refused = client.post(f"/api/consensus/{uid}", headers=OK, json={"coders": ["alice", "bob"], "codes": ["nope"]})
    assert refused.status_code >= 400 and "nope" in refused.json()["error"]
    client.post("/api/undo", headers=OK)
    assert f'data-utterance="{uid}"' in client.get("/part/consensus").text


def test_the_consensus_view_says_what_is_missing_with_one_coder(tmp_path, _demo_project_template):
    import shutil as sh

    target = tmp_path / "one"
    sh.copytree(_demo_project_template, target)
    p = Project(target)
    with p.transaction() as conn:
        conn.execute("DELETE FROM codings WHERE coder = 'bob'")
    p.close()
    page = TestClient(create_app(target, "carol", token=TOKEN), base_url="http://127.0.0.1").get("/part/consensus").text
    assert "Two coders who coded the same transcripts are needed" in page
