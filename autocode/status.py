"""Where a project stands, and the step that comes next: ``autocode status``.

A researcher who comes back to a study after a week should not have to remember which of
adding, proposing, reviewing, training and suggesting they last did.
"""
from __future__ import annotations

import json

from .codings import MACHINE
from .corpus import natural
from .learn import _targets, trained_coder
from .store import Project


def project_status(project: Project) -> dict:
    """Counts of each stage's work, and the next step as a command with its reason."""
    conn = project.conn
    one = lambda sql, *args: conn.execute(sql, args).fetchone()[0]   # noqa: E731
    coders = dict(conn.execute("SELECT coder, COUNT(DISTINCT utterance) FROM codings WHERE coder != ? GROUP BY coder "
                               "ORDER BY COUNT(DISTINCT utterance) DESC, coder", (MACHINE,)).fetchall())
    state = {"transcripts": one("SELECT COUNT(*) FROM documents"),
             "participant_utterances": one("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 0"),
             "themes": one("SELECT COUNT(*) FROM themes"), "codes": one("SELECT COUNT(*) FROM codes"),
             "open_candidates": one("SELECT COUNT(*) FROM candidates WHERE status = 'open'"),
             "coders": coders, "classifier": _classifier(conn)}
    state.update(_left(conn) if state["classifier"] else {"unsuggested": [], "undecided": 0})
    state["double_coding"] = _double_coding(conn)
    state["next"] = next_step(state)
    return state


def _classifier(conn) -> dict | None:
    row = conn.execute("SELECT coder, created_at, metrics FROM classifiers ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    metrics = json.loads(row["metrics"])
    kappa = (metrics.get("cross_validation") or {}).get("themes", {}).get("cohen_kappa")
    last = metrics.get("last_coding")   # classifiers trained before it was kept: by time instead
    since = conn.execute("SELECT COUNT(*) FROM codings WHERE coder = ? AND " + ("id > ?" if last else "created_at > ?"),
                         (row["coder"], last or row["created_at"])).fetchone()[0]
    return {"coder": row["coder"], "trained": row["created_at"], "theme_kappa": kappa, "codings_since": since}


def _double_coding(conn) -> dict | None:
    """The two coders who coded most transcripts in common: what their consensus has left to
    settle, and the transcripts only one of them coded."""
    from .errors import AutocodeError
    from .reconcile import CONSENSUS, likeliest_pair, people, plan, sources

    pair = likeliest_pair(conn, people(conn))
    if not pair:
        return None
    into = next((team for team, made in sources(conn).items() if set(pair) <= set(made)), None)
    try:
        found = plan(conn, pair, into or CONSENSUS)
    except AutocodeError:   # the default consensus name is another pair's, say: nothing to tell here
        return None
    return {"coders": pair, "consensus": into or CONSENSUS, "started": into is not None, "transcripts": len(found["documents"]),
            "to_take": len(found["agreed"]), "to_settle": len(found["open"]), "alone": found["alone"]}


def _left(conn) -> dict:
    """What the classifier's teacher has left to code: transcripts with no suggestions there
    yet, and how many suggestions wait for their verdict."""
    suggested = {r[0] for r in conn.execute("SELECT DISTINCT utterance FROM codings WHERE coder = ?", (MACHINE,))}
    left = _targets(conn, None, False, trained_coder(conn))
    return {"unsuggested": sorted({u.document for u in left if u.id not in suggested}, key=natural),
            "undecided": sum(u.id in suggested for u in left)}


def next_step(s: dict) -> tuple[str, str]:
    """(command, why): the first stage whose work is not done, in the order a study goes."""
    clf, main, team = s["classifier"], next(iter(s["coders"]), None), s.get("double_coding")
    teacher, since = (clf["coder"], clf["codings_since"]) if clf else (None, 0)
    steps = [
        (not s["transcripts"], "autocode add FILES", "the project has no transcripts yet"),
        (not s["codes"] and not s["open_candidates"], "autocode propose",
         "there is no codebook yet: group the utterances into candidate codes (or: autocode codebook import FILE)"),
        (s["open_candidates"] > 0 and not s["coders"], "autocode review",
         f"{s['open_candidates']} candidate codes wait for a decision (or: autocode candidates)"),
        (not s["coders"], "autocode import-codings FILE --coder NAME", "nobody has coded yet: import codings, or accept candidates"),
        (bool(team) and team["started"] and team["to_settle"] + team["to_take"] > 0,
         f"autocode reconcile {' '.join(team['coders'] if team else [])} --sheet to_settle.csv",
         f"{team and team['to_settle']} disagreements wait to be settled into {team and team['consensus']}, "
         "here or on the review page's Consensus view"),
        (clf is None, f"autocode train --coder {main}", f"{main} has coded; the classifier has not learnt from it yet"),
        (since > 0, f"autocode train --coder {teacher}", f"{teacher} made {since} codings since the classifier last learnt"),
        (bool(s["unsuggested"]), f"autocode suggest --documents {','.join(s['unsuggested'][:5])}",
         "these transcripts have uncoded utterances and no suggestions yet"),
        (s["undecided"] > 0, "autocode next", f"{s['undecided']} suggestions wait for {teacher}'s verdict: "
         "confirm the ones the classifier is least sure of first (or on the review page)"),
    ]
    return next(((cmd, why) for done, cmd, why in steps if done),
                ("autocode report --out report.html", "every stage is done: compare coders, export, or report"))
