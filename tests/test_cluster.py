"""Candidate codes from real embeddings of the demo corpus."""
from __future__ import annotations

import numpy as np
import pytest

from autocode import AutocodeError, cluster_labels, list_candidates, propose
from autocode.cluster import assign_outliers, keywords_by_group


@pytest.fixture
def proposed(demo_project):
    found = propose(demo_project, seed=0)
    return demo_project, found


def test_candidates_have_label_keywords_examples_and_spread(proposed):
    p, found = proposed
    assert len(found) >= 10
    rows = list_candidates(p.conn)
    assert [r["size"] for r in rows] == sorted((r["size"] for r in rows), reverse=True)
    for r in rows:
        assert r["label"] and r["keywords"]
        assert 3 <= len(r["examples"]) <= 5 or len(r["examples"]) == r["size"]
        assert 1 <= r["n_participants"] and 1 <= r["n_documents"] <= 7
        assert all(e["speaker"] and e["document"] and e["text"] for e in r["examples"])


def test_examples_are_members_nearest_the_centre(proposed):
    p, _ = proposed
    cid = list_candidates(p.conn)[0]["id"]
    rows = p.conn.execute("SELECT distance, example_rank FROM candidate_members WHERE candidate = ?", (cid,)).fetchall()
    examples = sorted((r["example_rank"], r["distance"]) for r in rows if r["example_rank"] is not None)
    others = [r["distance"] for r in rows if r["example_rank"] is None]
    assert [d for _, d in examples] == sorted(d for _, d in examples)
    assert max(d for _, d in examples) <= min(others, default=1.0)


def test_interviewer_utterances_are_never_candidates(proposed):
    p, _ = proposed
    n = p.conn.execute("SELECT COUNT(*) FROM candidate_members m JOIN utterances u ON u.id = m.utterance"
                       " WHERE u.is_interviewer = 1").fetchone()[0]
    assert n == 0


def test_same_seed_same_candidates(proposed):
    p, first = proposed
    second = propose(p, seed=0)
    assert [(c.label, c.members) for c in first] == [(c.label, c.members) for c in second]


def test_rerun_after_decisions_keeps_the_open_candidates_and_looks_their_closest_codes_up_again(proposed):
    """Accepting adds a code: the open candidates stay, ids and all, and may now be closest to it."""
    from autocode.review import accept

    p, found = proposed
    first, *rest = list_candidates(p.conn)
    accept(p, first["id"], theme="contribution", name="Kept", coder="t")
    propose(p, seed=0)
    statuses = dict(p.conn.execute("SELECT status, COUNT(*) FROM candidates GROUP BY status").fetchall())
    assert statuses["accepted"] == 1 and statuses["open"] == len(found) - 1
    again = list_candidates(p.conn)
    assert [c["id"] for c in again] == [c["id"] for c in rest]
    assert {c["nearest_code"] for c in again} <= {r[0] for r in p.conn.execute("SELECT id FROM codes")}


def test_rerun_over_new_transcripts_never_offers_a_decided_utterance_again(proposed):
    from autocode.cluster import decided_members
    from autocode.corpus import add_files
    from autocode.review import accept, reject

    from conftest import DATA

    p, found = proposed
    cands = list_candidates(p.conn)
    accept(p, cands[0]["id"], theme="contribution", name="Kept", coder="t")
    reject(p, [cands[1]["id"]], "t")
    decided = decided_members(p.conn)
    assert len(decided) == cands[0]["size"] + cands[1]["size"]
    add_files(p, [DATA / "transcripts" / "D08.txt"])
    again = propose(p, seed=0)
    assert again and not decided & {u for c in again for u in c.members}
    assert p.conn.execute("SELECT COUNT(*) FROM candidates WHERE status IN ('accepted', 'rejected')").fetchone()[0] == 2


def test_most_utterances_are_assigned(proposed):
    p, found = proposed
    total = p.conn.execute("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 0").fetchone()[0]
    assert sum(c.size for c in found) / total >= 0.8


def test_keywords_are_distinctive_words():
    texts = ["the pay is poor pay", "poor pay again", "training was short", "training and selection"]
    kw = keywords_by_group(texts, np.array([0, 0, 1, 1]))
    assert kw[0][0] == "pay" and kw[1][0] == "training"


def test_outliers_join_a_close_group_only():
    X = np.array([[1, 0], [1, 0.01], [0, 1], [0.01, 1], [0.99, 0.05], [-1, 0]], dtype=float)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    labels = assign_outliers(X, np.array([0, 0, 1, 1, -1, -1]), threshold=0.4)
    assert list(labels) == [0, 0, 1, 1, 0, -1]


def test_too_few_utterances_is_a_plain_error():
    with pytest.raises(AutocodeError, match="add more transcripts"):
        cluster_labels(np.random.default_rng(0).normal(size=(5, 8)))


def _blobs(n_per: int = 60, seed: int = 0) -> np.ndarray:
    """Three well-separated directions plus noise, unit length, like sentence embeddings."""
    rng = np.random.default_rng(seed)
    X = np.vstack([np.eye(16)[k] * 3 + rng.normal(scale=0.3, size=(n_per, 16)) for k in range(3)])
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_large_corpora_cluster_a_sample_and_assign_the_rest():
    X = _blobs()
    labels = cluster_labels(X, min_cluster_size=10, sample_size=40, seed=1)
    truth = np.repeat([0, 1, 2], 60)
    assert (labels >= 0).mean() >= 0.95
    assert all(len(set(labels[truth == k]) - {-1}) == 1 for k in range(3))
    assert len(set(labels) - {-1}) == 3


def test_sampled_clustering_is_the_same_for_the_same_seed():
    X = _blobs(seed=2)
    first = cluster_labels(X, min_cluster_size=10, sample_size=50, seed=3)
    assert np.array_equal(first, cluster_labels(X, min_cluster_size=10, sample_size=50, seed=3))


def test_sample_is_seeded_and_covers_everything_when_small():
    from autocode.cluster import seeded_sample

    assert list(seeded_sample(5, 10, seed=0)) == [0, 1, 2, 3, 4]
    a, b = seeded_sample(1000, 50, seed=4), seeded_sample(1000, 50, seed=4)
    assert np.array_equal(a, b) and len(set(a)) == 50 and list(a) == sorted(a)
    assert not np.array_equal(a, seeded_sample(1000, 50, seed=5))


def test_utterances_far_from_every_group_stay_unassigned():
    from autocode.cluster import nearest_centre

    centres = np.eye(3)[:2]
    X = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    assert list(nearest_centre(X, centres, threshold=0.4)) == [0, 1, -1]


def test_propose_again_over_unchanged_transcripts_reuses_the_candidates(demo_project):
    """Clustering is deterministic: a second run over the same utterances keeps the open
    candidates instead of clustering again (issue 6: at most 5% of the first run's time)."""
    import time

    from autocode.cluster import propose
    from autocode.review import reject

    p = demo_project
    start = time.perf_counter()
    first = propose(p)
    took = time.perf_counter() - start
    ids = [r[0] for r in p.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY id")]
    reject(p, [ids[0]], "tester")
    start = time.perf_counter()
    again = propose(p)
    assert time.perf_counter() - start < took / 5
    assert [c.label for c in again] == [c.label for c in first][1:] or len(again) == len(first) - 1
    assert [r[0] for r in p.conn.execute("SELECT id FROM candidates WHERE status = 'open' ORDER BY id")] == ids[1:]
    assert sorted(again[0].members) == sorted(r[0] for r in p.conn.execute(
        "SELECT utterance FROM candidate_members WHERE candidate = ?", (ids[1],)))
    details = p.conn.execute("SELECT details FROM decisions WHERE action = 'propose' ORDER BY id DESC").fetchone()[0]
    assert '"reused": true' in details
    changed = propose(p, seed=1)  # another seed is another clustering
    assert len(changed) > 0 and '"reused"' not in p.conn.execute(
        "SELECT details FROM decisions WHERE action = 'propose' ORDER BY id DESC").fetchone()[0]


def test_keywords_never_show_the_halves_of_contractions():
    """'wasn't' splits into 'wasn' and 't' under the word pattern; neither is a keyword."""
    texts = ["The ward wasn't counted and they're short-staffed", "Staff wasn't on the ward, it doesn't work",
             "Pay isn't fair and they aren't paid", "The pay doesn't reflect the work they're doing"]
    kw = keywords_by_group(texts, np.array([0, 0, 1, 1]))
    words = {w for group in kw.values() for phrase in group for w in phrase.split()}
    assert words and not words & {"wasn", "doesn", "isn", "aren", "re"}
    assert "ward" in kw[0] and "pay" in kw[1]


def test_propose_says_what_it_kept_and_left_out(proposed):
    from typer.testing import CliRunner

    from autocode.cli import app
    from autocode.review import reject

    p, found = proposed
    reject(p, [list_candidates(p.conn)[0]["id"]], "t")
    result = CliRunner().invoke(app, ["propose", "--seed", "0", "--project", str(p.root)], env={"COLUMNS": "300"})
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and f"Found {len(found) - 1} candidate codes" in said
    assert "the open candidates are kept, with their numbers" in said and "were left out" not in said


def test_propose_clusters_what_is_left_once_every_candidate_is_decided(proposed):
    from autocode.cluster import decided_members
    from autocode.review import reject

    p, found = proposed
    reject(p, [c["id"] for c in list_candidates(p.conn)[2:]], "t")   # the two largest are left open
    assert len(propose(p, seed=0)) == 2   # kept
    reject(p, [c["id"] for c in list_candidates(p.conn)], "t")
    left = p.conn.execute("SELECT COUNT(*) FROM utterances WHERE is_interviewer = 0").fetchone()[0] - len(
        decided_members(p.conn))
    with pytest.raises(AutocodeError, match=f"only {left} participant utterances are left to cluster"):
        propose(p, seed=0)   # the same run would leave nothing open: the rest is clustered (here, too few)


def test_a_word_said_twice_in_a_row_is_no_keyword_phrase():
    texts = ["the model model was wrong", "model model again and the model", "pay is poor", "poor pay again"]
    kw = keywords_by_group(texts, np.array([0, 0, 1, 1]))
    assert "model" in kw[0] and "model model" not in kw[0]


def test_a_group_of_short_replies_is_labelled_as_such():
    from autocode.cluster import describe
    from autocode.corpus import Utterance

    texts = ["Yeah.", "Yeah.", "Um,", "Yes, definitely.", "Yeah, LUS, um,", "Pay is poor for the work they do"]
    utts = [Utterance(i, "D", i, "P", 0, len(t), t) for i, t in enumerate(texts)]
    X = np.eye(len(texts))
    [cand] = describe(utts, X, np.zeros(len(texts), int))
    assert cand.label == "Short replies: \u201cyeah\u201d, \u201cum\u201d, \u201cyes, definitely\u201d"


def test_a_closest_code_is_shown_only_when_it_is_close():
    from autocode.cluster import CLOSE, close_code

    assert close_code({"nearest_code": "pay", "nearest_similarity": CLOSE + 0.2}) == "pay"
    assert close_code({"nearest_code": "pay", "nearest_similarity": 0.13}) is None
    assert close_code({"nearest_code": None, "nearest_similarity": None}) is None
