"""Candidate codes: groups of similar participant utterances found by HDBSCAN.

Embeddings are reduced to a few dimensions with PCA (fast and deterministic) before HDBSCAN, since density
clustering degrades in 384 dimensions. HDBSCAN's groups then seed a few rounds of spherical
k-means in the full embedding, and every utterance joins its most similar group, unless it
resembles none (so few are left unassigned). Large projects run HDBSCAN on a seeded sample
only, so clustering time grows about linearly (docs/scaling.md). Each group gets a label and keywords from class-based
TF-IDF (a word is distinctive when frequent in the group and rare in the others), and its
example quotes are the utterances nearest its centre.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from . import codebook
from .corpus import Utterance, utterances
from .embed import cached_encode
from .errors import AutocodeError
from .store import Project, default_coder, now

# Spoken-language filler that c-TF-IDF would otherwise find distinctive.
FILLER = {"um", "uh", "er", "erm", "mm", "hmm", "yeah", "yes", "okay", "ok", "like", "know", "think",
          "mean", "just", "really", "sort", "kind", "actually", "thing", "things", "right", "laughs",
          "pause", "bit", "lot", "quite", "say", "said", "sure", "don", "ve", "ll", "did", "does",
          "got", "going", "gonna", "way", "probably", "maybe", "suppose", "guess", "well", "oh",
          # what the word pattern leaves of "wasn't", "doesn't", "they're": half-words, never a keyword
          "wasn", "weren", "isn", "aren", "doesn", "didn", "hasn", "haven", "hadn", "couldn", "wouldn",
          "shouldn", "won", "ain", "re"}
N_EXAMPLES = 5
ASSIGN_SIMILARITY = 0.4
SIZE_DIVISOR = 150        # smallest group: 1/150 of the utterances (at least 5); tuned on dev data
REFINE_ROUNDS = 10
SAMPLE_SIZE = 20_000      # HDBSCAN runs on at most this many utterances; the rest join by similarity
N_KEYWORDS = 10


@dataclass
class Candidate:
    label: str
    keywords: list[str]
    members: list[int]          # utterance ids
    distances: list[float]      # cosine distance to the group's centre
    examples: list[int]         # utterance ids, nearest the centre first
    n_documents: int
    n_participants: int
    centre: np.ndarray | None = None
    nearest_code: str | None = None
    nearest_similarity: float | None = None
    id: int | None = None       # once stored

    @property
    def size(self) -> int:
        return len(self.members)


def cluster_labels(X: np.ndarray, min_cluster_size: int = 0, dimensions: int = 5, seed: int = 0,
                   assign_similarity: float = ASSIGN_SIMILARITY, sample_size: int = SAMPLE_SIZE) -> np.ndarray:
    """Group per row (-1 = no group). Same input and seed give the same result.

    HDBSCAN finds the groups in a seeded sample of at most ``sample_size`` rows (all of them
    in most projects); their centres are then refined over every row and each utterance
    joins the group whose centre it is most similar to, if that similarity is at least
    ``assign_similarity``. So HDBSCAN's cost stops growing with the sample and the rest
    grows linearly.
    """
    n = len(X)
    if n < 10:
        raise AutocodeError(
            f"only {n} participant utterances to cluster",
            "add more transcripts first: candidate codes need at least 10 utterances")
    sample = seeded_sample(n, sample_size, seed)
    seeds = density_groups(X[sample], min_cluster_size, dimensions, seed)
    if not (seeds >= 0).any():
        return np.full(n, -1)
    centres = refine_centres(X, group_centres(X[sample], seeds))
    return nearest_centre(X, centres, assign_similarity)


def seeded_sample(n: int, size: int, seed: int) -> np.ndarray:
    """Row numbers of a seeded random sample of ``size`` rows, in order; every row when n <= size."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def density_groups(X: np.ndarray, min_cluster_size: int = 0, dimensions: int = 5, seed: int = 0) -> np.ndarray:
    """HDBSCAN groups of the rows after PCA (density clustering degrades in 384 dimensions)."""
    n = len(X)
    size = min_cluster_size or max(5, round(n / SIZE_DIVISOR))
    dims = max(2, min(dimensions, X.shape[1], n - 1))
    from sklearn.cluster import HDBSCAN  # scikit-learn loads only when clustering runs
    from sklearn.decomposition import PCA

    reduced = PCA(n_components=dims, random_state=seed).fit_transform(X)
    # "leaf" selection: many small, tight groups, rather than "eom"'s tendency on
    # single-topic interviews to return one group holding nearly everything.
    return HDBSCAN(min_cluster_size=size, min_samples=1, cluster_selection_method="leaf",
                   copy=True).fit_predict(reduced)


def group_centres(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit-length mean of each group's rows, in group order (-1 left out)."""
    centres = np.stack([X[labels == g].mean(axis=0) for g in sorted(set(labels) - {-1})])
    return centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)


def refine_centres(X: np.ndarray, centres: np.ndarray, rounds: int = REFINE_ROUNDS) -> np.ndarray:
    """Move each centre to the mean of the rows nearest it (spherical k-means), a few rounds.

    HDBSCAN's groups are found in a few PCA dimensions; refining in the full embedding
    puts each utterance with the group it most resembles in meaning (on the reference study
    and the NHS comments' tuning half this raised AMI against the gold codes by 0.01-0.03).
    """
    for _ in range(rounds):
        nearest = np.asarray(X @ centres.T).argmax(axis=1)
        centres = group_centres(X, nearest)
    return centres


def nearest_centre(X: np.ndarray, centres: np.ndarray, threshold: float) -> np.ndarray:
    """Index of each row's most similar centre; -1 where that similarity is under ``threshold``."""
    sims = np.asarray(X @ centres.T)
    labels = sims.argmax(axis=1)
    labels[sims.max(axis=1) < threshold] = -1
    return labels


def assign_outliers(X: np.ndarray, labels: np.ndarray, threshold: float) -> np.ndarray:
    """Give each ungrouped row (-1) the group whose centre is most similar, if at least ``threshold``."""
    groups = np.array(sorted(set(labels) - {-1}))
    if len(groups) == 0:
        return labels
    nearest = nearest_centre(X, group_centres(X, labels), threshold)
    out = labels.copy()
    move = (labels == -1) & (nearest >= 0)
    out[move] = groups[nearest[move]]
    return out


def keywords_by_group(texts: list[str], labels: np.ndarray, n: int = N_KEYWORDS) -> dict[int, list[str]]:
    """Top c-TF-IDF words (and two-word phrases) for each group.

    Counts stay sparse: a large project's vocabulary of word pairs would not fit densely.
    """
    buckets: dict[int, list[str]] = {g: [] for g in sorted(set(labels.tolist()) - {-1})}
    for t, l in zip(texts, labels.tolist()):
        if l != -1:
            buckets[l].append(t)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop_words = sorted(ENGLISH_STOP_WORDS | FILLER)
    vectorizer = CountVectorizer(stop_words=stop_words, ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    try:
        counts = vectorizer.fit_transform([" ".join(b) for b in buckets.values()]).astype(float).tocsr()
    except ValueError:  # nothing but stop words
        return {g: [] for g in buckets}
    counts.sort_indices()
    per_group, per_word = np.asarray(counts.sum(axis=1)).ravel(), np.asarray(counts.sum(axis=0)).ravel()
    idf = np.log(1 + per_group.mean() / np.maximum(per_word, 1))
    vocab = vectorizer.get_feature_names_out()
    idf[[len(set(v.split())) < len(v.split()) for v in vocab]] = 0   # "model model": a repeat in speech, no phrase
    return {g: _top(counts.getrow(k), idf, per_group[k], vocab, n) for k, g in enumerate(buckets)}


def _top(row, idf: np.ndarray, total: float, vocab: np.ndarray, n: int) -> list[str]:
    """The ``n`` best-scoring words of one group (ties: vocabulary order)."""
    scores = row.data / max(total, 1) * idf[row.indices]
    order = np.argsort(-scores, kind="stable")[:n]
    return [vocab[row.indices[i]] for i in order if scores[i] > 0]


def describe(utts: list[Utterance], X: np.ndarray, labels: np.ndarray) -> list[Candidate]:
    """Label, keywords, examples and spread of each group, largest group first."""
    words = keywords_by_group([u.text for u in utts], labels)
    out = []
    for g, kw in words.items():
        idx = np.flatnonzero(labels == g)
        centre = X[idx].mean(axis=0)
        centre /= np.linalg.norm(centre) or 1.0
        dist = 1.0 - X[idx] @ centre
        order = idx[np.argsort(dist, kind="stable")]
        out.append(Candidate(
            label=_short_replies([utts[i].text for i in idx]) or _label(kw), keywords=kw, members=[utts[i].id for i in idx],
            distances=[float(d) for d in dist], examples=[utts[i].id for i in order[:N_EXAMPLES]],
            n_documents=len({utts[i].document for i in idx}),
            n_participants=len({utts[i].participant for i in idx}), centre=centre))
    return sorted(out, key=lambda c: (-c.size, c.label))


def _short_replies(texts: list[str]) -> str:
    """A group of mostly one- to three-word replies ("Yeah.", "Um,") has no distinctive words
    worth a label: say what it is, so it is quick to reject."""
    if np.median([len(t.split()) for t in texts]) > 3:
        return ""
    from collections import Counter

    common = Counter(t.strip().strip(".,!?;:").lower() for t in texts).most_common(3)
    return "Short replies: " + ", ".join(f"\u201c{t}\u201d" for t, _ in common if t)


def _label(keywords: list[str]) -> str:
    picked: list[str] = []
    for k in keywords:
        if not any(k in p or p in k for p in picked):
            picked.append(k)
        if len(picked) == 3:
            break
    return " / ".join(picked) or "(no distinctive words)"


def propose(project: Project, seed: int | None = None, min_cluster_size: int | None = None,
            model: str | None = None, coder: str | None = None) -> list[Candidate]:
    """Cluster participant utterances and replace the open candidates with the new ones.

    Utterances in candidates the researcher accepted, merged or rejected are left out, so a
    decision is never offered again. Clustering is deterministic, so when neither the
    utterances nor the settings changed since the last run, its open candidates are what a new
    run would give: they are kept, ids and all, and only their closest codes are looked up
    again (the codebook may have grown).
    """
    seed = project.setting("cluster", "seed") if seed is None else seed
    size = project.setting("cluster", "min_cluster_size") if min_cluster_size is None else min_cluster_size
    model = model or project.setting("embedding", "model")
    dims = project.setting("cluster", "dimensions")
    if size and size < 2:
        raise AutocodeError(f"the smallest group must hold 2 or more utterances, not {size}",
                            "give --min-cluster-size 2 or more, or leave it out to let autocode choose")
    with project.transaction() as conn:
        every = utterances(conn)
        mark = fingerprint(conn, every, model, seed, size, dims)
        if mark == _last_fingerprint(conn) and (found := stored_candidates(conn)):   # none left open: cluster the rest
            match_codebook(conn, found, model, store=True)
            project.log("propose", coder or default_coder(), candidates=len(found), seed=seed,
                        min_cluster_size=size, model=model, fingerprint=mark, reused=True)
            return found
        decided = decided_members(conn)
        utts = [u for u in every if u.id not in decided]
        _check_enough(len(utts), size, len(every) - len(utts))
        X = cached_encode(conn, [u.text for u in utts], model, project.setting("embedding", "batch_size"))
        labels = cluster_labels(X, size, dims, seed)
        found = describe(utts, X, labels)
        match_codebook(conn, found, model)
        conn.execute("DELETE FROM candidates WHERE status = 'open'")
        for c in found:
            insert_candidate(conn, c)
        project.log("propose", coder or default_coder(), candidates=len(found), seed=seed, min_cluster_size=size,
                    model=model, unassigned=int((labels == -1).sum()), decided=len(decided), fingerprint=mark)
    return found


def decided_members(conn) -> set[int]:
    """Utterances in candidates accepted, merged or rejected: what the researcher has decided."""
    return {r[0] for r in conn.execute("SELECT m.utterance FROM candidate_members m JOIN candidates c ON c.id = "
                                       "m.candidate WHERE c.status IN ('accepted', 'merged', 'rejected')")}


def _check_enough(n: int, size: int, decided: int) -> None:
    where = f" outside the candidates you accepted, merged or rejected ({decided} utterances)" if decided else ""
    if n < 10 and decided:
        raise AutocodeError(f"only {n} participant utterances are left to cluster{where}",
                            "add more transcripts first, or reopen rejected candidates (autocode reopen ID) to "
                            "cluster their utterances again; the open candidates were kept")
    if size > n:
        raise AutocodeError(f"the smallest group ({size} utterances) is larger than the {n} participant "
                            f"utterances there are to cluster{where}, so no candidate could be found",
                            f"give --min-cluster-size between 2 and {max(2, n // 3)}, or leave it out; "
                            "the open candidates were kept")


def fingerprint(conn, utts: list[Utterance], model: str, seed: int, size: int, dims: int) -> str:
    """What a run depends on: the utterances, the model and backend, and the settings. Not the
    codebook: a reused run looks its candidates' closest codes up again."""
    from hashlib import sha256

    from .embed import model_key, project_backend

    digest = sha256(json.dumps([model_key(model, project_backend(conn)), seed, size, dims]).encode())
    for u in utts:
        digest.update(f"{u.id}\x1f{u.text}\x1e".encode())
    return digest.hexdigest()


def _last_fingerprint(conn) -> str | None:
    """The last run's fingerprint. Candidates decided since then stay decided: reusing the run
    leaves only the open ones, where a fresh run would bring the decided ones back as new."""
    row = conn.execute("SELECT details FROM decisions WHERE action = 'propose' ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return json.loads(row["details"]).get("fingerprint")


def stored_candidates(conn) -> list[Candidate]:
    """The open candidates, read back from the project."""
    out = []
    for r in conn.execute("SELECT * FROM candidates WHERE status = 'open' ORDER BY id").fetchall():
        members = conn.execute("SELECT utterance, distance, example_rank FROM candidate_members WHERE candidate = ?"
                               " ORDER BY utterance", (r["id"],)).fetchall()
        examples = [m["utterance"] for m in sorted(members, key=lambda m: m["example_rank"] if m["example_rank"]
                                                   is not None else 1 << 30) if m["example_rank"] is not None]
        out.append(Candidate(r["label"], json.loads(r["keywords"]), [m["utterance"] for m in members],
                             [m["distance"] for m in members], examples, r["n_documents"], r["n_participants"],
                             nearest_code=r["nearest_code"], nearest_similarity=r["nearest_similarity"], id=r["id"]))
    return out


# Below this cosine similarity between a candidate's centre and a code's name and definition, the
# "closest code" is no match worth showing: on a real interview set the filler and off-topic groups
# scored 0.13-0.30 against every code, and the groups later accepted as those codes 0.49-0.73.
CLOSE = 0.3


def close_code(card: dict) -> str | None:
    """A candidate's closest code, where it is close enough to mean something."""
    return card.get("nearest_code") if (card.get("nearest_similarity") or 0) >= CLOSE else None


def match_codebook(conn, found: list[Candidate], model: str | None, store: bool = False) -> None:
    """Point each candidate at the existing code whose name and definition it most resembles;
    ``store``: candidates read back from the project, their centres made again from the
    embedding cache and their closest codes written back."""
    codes = codebook.load(conn).codes
    if not codes or not found:
        if store:
            conn.executemany("UPDATE candidates SET nearest_code = NULL, nearest_similarity = NULL WHERE id = ?",
                             [(c.id,) for c in found])
        return
    if store:
        _centres_of(conn, found, model)
    C = cached_encode(conn, [f"{c.name}: {c.definition}" for c in codes], model)
    sims = np.stack([c.centre for c in found]) @ C.T
    for cand, row in zip(found, sims):
        cand.nearest_code, cand.nearest_similarity = codes[int(row.argmax())].id, float(row.max())
    if store:
        conn.executemany("UPDATE candidates SET nearest_code = ?, nearest_similarity = ? WHERE id = ?",
                         [(c.nearest_code, c.nearest_similarity, c.id) for c in found])


def _centres_of(conn, found: list[Candidate], model: str | None) -> None:
    text = dict(conn.execute("SELECT id, text FROM utterances").fetchall())
    X = cached_encode(conn, [text[u] for c in found for u in c.members], model)   # from the cache: no model run
    start = 0
    for c in found:
        centre = X[start:start + c.size].mean(axis=0)
        c.centre, start = centre / (np.linalg.norm(centre) or 1.0), start + c.size


def insert_candidate(conn, c: Candidate) -> int:
    """Store a candidate and its members; returns its id, one never used before (migration 3)."""
    cur = conn.execute(
        "INSERT INTO candidates (id, label, keywords, size, n_documents, n_participants, nearest_code,"
        " nearest_similarity, created_at) VALUES ((SELECT last + 1 FROM id_counters WHERE name = 'candidates'),"
        " ?, ?, ?, ?, ?, ?, ?, ?)",
        (c.label, json.dumps(c.keywords), c.size, c.n_documents, c.n_participants, c.nearest_code,
         c.nearest_similarity, now()))
    rank = {u: r for r, u in enumerate(c.examples)}
    conn.executemany(
        "INSERT INTO candidate_members (candidate, utterance, distance, example_rank) VALUES (?, ?, ?, ?)",
        [(cur.lastrowid, u, d, rank.get(u)) for u, d in zip(c.members, c.distances)])
    return cur.lastrowid


def list_candidates(conn, status: str | None = "open") -> list[dict]:
    """Candidates with their example quotes, as plain data for the CLI, JSON and the web UI."""
    sql = "SELECT * FROM candidates" + (" WHERE status = ?" if status else "") + " ORDER BY id"
    out = []
    for r in conn.execute(sql, (status,) if status else ()):
        examples = conn.execute(
            "SELECT u.document, u.idx, u.speaker, u.text FROM candidate_members m JOIN utterances u"
            " ON u.id = m.utterance WHERE m.candidate = ? AND m.example_rank IS NOT NULL"
            " ORDER BY m.example_rank", (r["id"],)).fetchall()
        out.append({"id": r["id"], "label": r["label"], "keywords": json.loads(r["keywords"]),
                    "size": r["size"], "n_documents": r["n_documents"],
                    "n_participants": r["n_participants"], "status": r["status"], "code": r["code"],
                    "nearest_code": r["nearest_code"], "nearest_similarity": r["nearest_similarity"],
                    "examples": [dict(e) for e in examples]})
    return out
