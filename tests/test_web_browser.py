"""The review page in a real headless Chromium: accept, rename, merge, split, reject, undo.

Each step is checked in the project database. Screenshots are kept in ``test-artifacts/``
(or $AUTOCODE_SCREENSHOTS); the README's picture of the review page is one of them.
Skips, with the reason, when Playwright or Chromium is missing; the API tests still run.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO
from conftest import query as db

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (Debian package 'chromium') to drive")
SHOTS = Path(os.environ.get("AUTOCODE_SCREENSHOTS") or REPO / "test-artifacts")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def served(_review_template, tmp_path):
    """A copy of the review project, served on a free port of 127.0.0.1 for one test."""
    import uvicorn

    from autocode.web import create_app

    root = tmp_path / "proj"
    shutil.copytree(_review_template, root)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(root, "erin", port=port), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield root, f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser, served):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served[1])
    page.wait_for_selector(".card")
    yield page
    page.close()
    assert not errors, errors


def status(root, cid) -> str:
    return db(root, "SELECT status FROM candidates WHERE id = ?", cid)[0][0]


def settled(page, act) -> None:
    """Do something, then wait until the page has re-rendered after it."""
    before = page.eval_on_selector("#view", "v => v.dataset.ready")
    act()
    page.wait_for_function("v => document.getElementById('view').dataset.ready !== v"
                           " && (document.body.dataset.pending || '0') === '0'", arg=before, timeout=60_000)
    assert page.locator("#status.bad").count() == 0, page.inner_text("#status")


def card(page, cid):
    return page.locator(f'.card[data-id="{cid}"]')


def answer(page, **fields) -> None:
    """Fill the open dialog and press OK."""
    page.wait_for_selector("#form[open]")
    for name, value in fields.items():
        box = page.locator(f"#f-{name}")
        box.select_option(value) if box.evaluate("e => e.tagName") == "SELECT" else box.fill(value)
    page.click("#f-ok")


def open_ids(root):
    return [r[0] for r in db(root, "SELECT id FROM candidates WHERE status = 'open' ORDER BY id")]


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"review-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000
    return path


def test_candidates_to_codes_with_the_mouse_checking_the_database_each_step(page, served):
    root, _ = served
    a, b, c, d, e, f, g = open_ids(root)[:7]
    shot(page, "candidates")

    settled(page, lambda: (card(page, a).locator('[data-action="accept"]').click(),
                           answer(page, name="Ward routines", definition="What PSWs do on the ward", theme="role_ambiguity")))
    assert status(root, a) == "accepted"
    assert db(root, "SELECT theme, definition FROM codes WHERE id = 'ward_routines'") == [("role_ambiguity", "What PSWs do on the ward")]

    settled(page, lambda: (card(page, b).locator('[data-action="rename"]').click(), answer(page, label="Peer status")))
    assert db(root, "SELECT label FROM candidates WHERE id = ?", b) == [("Peer status",)]

    card(page, c).locator(".pick-box").check()
    card(page, d).locator(".pick-box").check()
    settled(page, lambda: (page.click("#merge-selected"), answer(page, name="Welcome on the ward", theme="team_dynamics")))
    assert status(root, c) == status(root, d) == "merged"
    assert db(root, "SELECT DISTINCT code FROM candidates WHERE id IN (?, ?)", c, d) == [("welcome_on_the_ward",)]

    settled(page, lambda: (card(page, e).drag_to(card(page, f)), answer(page, name="Dragged together", theme="contribution")))
    assert status(root, e) == status(root, f) == "merged"

    settled(page, lambda: card(page, g).locator('[data-action="split"]').click())
    assert status(root, g) == "split"
    parts = db(root, "SELECT id FROM candidates WHERE id > ? AND status = 'open'", max(open_ids(root)) - 2)
    assert len(parts) == 2 and card(page, parts[0][0]).count() == 1

    h = open_ids(root)[0]
    settled(page, lambda: card(page, h).locator('[data-action="reject"]').click())
    assert status(root, h) == "rejected"
    settled(page, lambda: page.click("#undo"))
    assert status(root, h) == "open"
    settled(page, lambda: page.click("#redo"))
    assert status(root, h) == "rejected"
    actions = [r[0] for r in db(root, "SELECT action FROM decisions WHERE coder = 'erin' ORDER BY id")]
    assert actions == ["accept", "rename-candidate", "merge", "merge", "split", "reject", "undo", "redo"]


def test_keyboard_shortcuts_accept_reject_undo_and_redo(page, served):
    root, _ = served
    first, second = open_ids(root)[:2]
    card(page, first).focus()
    page.keyboard.press("d")
    page.wait_for_function(f"!document.querySelector('.card[data-id=\"{first}\"]')")
    assert status(root, first) == "rejected"
    settled(page, lambda: page.keyboard.press("u"))
    assert status(root, first) == "open"
    settled(page, lambda: page.keyboard.press("Shift+U"))
    assert status(root, first) == "rejected"
    card(page, second).focus()
    page.keyboard.press("a")
    settled(page, lambda: answer(page, theme="impact_on_psw"))
    assert status(root, second) == "accepted"


def test_an_opened_candidate_loses_one_utterance_and_gives_another_to_a_code(page, served):
    root, _ = served
    cid = open_ids(root)[0]
    settled(page, lambda: card(page, cid).locator('[data-action="open"]').click())
    members = page.locator(".member")
    n = members.count()
    first, second = (int(members.nth(i).get_attribute("data-utterance")) for i in range(2))
    settled(page, lambda: members.nth(0).locator('[data-action="remove-utterance"]').click())
    box = page.locator(f'.member[data-utterance="{second}"] select')
    assert box.locator("option").count() == 1   # the code list is filled when first used
    box.focus()
    settled(page, lambda: box.select_option("credibility"))
    assert page.locator(".member").count() == n - 2
    assert db(root, "SELECT count(*) FROM candidate_members WHERE candidate = ?", cid) == [(n - 2,)]
    assert db(root, "SELECT code FROM codings WHERE utterance = ? AND coder = 'erin'", second) == [("credibility",)]
    assert not db(root, "SELECT 1 FROM candidate_members WHERE candidate = ? AND utterance = ?", cid, first)


def test_codebook_and_suggestions_views(page, served):
    root, _ = served
    settled(page, lambda: page.click('[role=tab][data-view="codebook"]'))
    page.wait_for_selector(".theme")   # a render of the view before may settle first on a busy machine
    assert page.locator(".theme").count() == 5 and page.locator(".matrix td.on").count() > 0
    shot(page, "codebook")
    settled(page, lambda: (page.click('.theme[data-theme="team_dynamics"] [data-action="theme-up"]')))
    assert db(root, "SELECT id FROM themes ORDER BY position")[3] == ("team_dynamics",)

    settled(page, lambda: page.click('[role=tab][data-view="suggestions"]'))
    settled(page, lambda: page.select_option("#order", "uncertain"))
    row = page.locator(".turn.item").first
    uid = int(row.get_attribute("data-utterance"))
    settled(page, lambda: row.locator('[data-action="accept-suggestion"]').click())
    suggested = db(root, "SELECT code FROM codings WHERE utterance = ? AND coder = 'machine'", uid)
    assert db(root, "SELECT code FROM codings WHERE utterance = ? AND coder = 'erin'", uid) == suggested
    settled(page, lambda: page.select_option("#order", "position"))
    shot(page, "suggestions")


def test_accept_above_refuses_an_empty_box_and_asks_first(page, served):
    """An empty box once read as 0 and accepted every suggestion; "80" means 0.8."""
    root, _ = served
    settled(page, lambda: page.click('[role=tab][data-view="suggestions"]'))
    doc = page.eval_on_selector("#document", "s => s.value")
    page.fill("#threshold", "")
    page.click('[data-action="accept-above"]')
    page.wait_for_selector("#status.bad")
    assert "Type a confidence from 0 to 1" in page.inner_text("#status")
    typed = {text: page.evaluate("t => confidenceTyped(t)", text) for text in ("0.8", "0,8", "80%", "80", "1.5", "-1", "1e3")}
    assert typed == {"0.8": 0.8, "0,8": 0.8, "80%": 0.8, "80": None, "1.5": None, "-1": None, "1e3": None}
    assert db(root, "SELECT COUNT(*) FROM codings WHERE coder = 'erin'") == [(0,)]
    expected = db(root, "SELECT COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance WHERE c.coder = "
                        "'machine' AND c.confidence >= 0.8 AND u.document = ?", doc)[0][0]
    page.fill("#threshold", "80%")
    page.once("dialog", lambda d: d.accept())
    settled(page, lambda: page.click('[data-action="accept-above"]'))
    assert db(root, "SELECT COUNT(*) FROM codings WHERE coder = 'erin'") == [(expected,)]


def test_a_refusal_far_down_the_page_is_seen_and_keeps_what_was_typed(page, served):
    """The status line sat at the top, off-screen once scrolled; a refused dialog closed and lost
    the definition typed into it."""
    root, _ = served
    last = open_ids(root)[-1]
    card(page, last).scroll_into_view_if_needed()
    card(page, last).locator('[data-action="accept"]').click()
    answer(page, name="Credibility and rapport", definition="typed with care", theme="team_dynamics")
    page.wait_for_selector("#form[open] #form-problem:not(:empty)")
    assert "already exists" in page.inner_text("#form-problem")
    assert page.input_value("#f-definition") == "typed with care"
    page.click("#f-cancel")
    page.wait_for_function("(document.body.dataset.pending || '0') === '0'")
    box = page.locator("#status").bounding_box()
    assert box and 0 <= box["y"] <= 900 - box["height"]   # in the window, wherever the page is scrolled
    assert status(root, last) == "open"


def test_a_double_click_acts_once(page, served):
    root, _ = served
    cid = open_ids(root)[0]
    settled(page, lambda: card(page, cid).locator('[data-action="split"]').dblclick())
    assert status(root, cid) == "split"
    assert [r[0] for r in db(root, "SELECT action FROM decisions WHERE coder = 'erin'")] == ["split"]


def test_a_consensus_meeting_on_the_page(page, served):
    root, _ = served
    settled(page, lambda: page.click('[role=tab][data-view="consensus"]'))
    settled(page, lambda: page.click('[data-action="take-agreed"]'))
    assert db(root, "SELECT COUNT(*) FROM codings WHERE coder = 'consensus'")[0][0] > 0
    first = page.locator('[data-action="settle-take"]').first
    uid = int(first.get_attribute("data-utterance"))
    settled(page, lambda: first.click())
    assert db(root, "SELECT COUNT(*) FROM codings WHERE coder = 'consensus' AND utterance = ?", uid)[0][0] >= 1
    box = page.locator('select[data-action="settle-code"]').first
    other = int(box.get_attribute("data-utterance"))
    box.focus()
    settled(page, lambda: box.select_option("-"))
    assert db(root, "SELECT code FROM codings WHERE coder = 'consensus' AND utterance = ?", other) == [("",)]
    shot(page, "consensus")
