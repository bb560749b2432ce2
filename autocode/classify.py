"""The classifier that learns a coder's codes and suggests codes for new utterances.

:class:`ThemeClassifier` is a scikit-learn-style estimator over sentence embeddings
(multinomial logistic regression, classes balanced so rare codes are not drowned by
"no code"). Given a code-to-theme map it learns both levels: a theme model decides the theme,
and the code model picks the code within it. Deciding themes directly agrees better with
coders than rolling up the single best code (theme kappa 0.39 against 0.36 on the reference
study, document folds); weighing the theme model 3:1 against the code model's summed codes does
better still (``theme_weight``). It saves to a single ``.npz`` of plain arrays plus JSON, loaded with
``allow_pickle=False``: a shared model file can never run code on the recipient's machine,
and it loads across scikit-learn versions because prediction is plain numpy.
"""
from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .embed import encode, unit_length
from .errors import AutocodeError

FORMAT = "autocode-classifier/1"
# Function words and the question mark stay: "what", "you", "so" and "?" tell a question from a
# reflection (AnnoMI therapist kappa 0.639 -> 0.688 in cross-validation on training transcripts).
# They are features only: reasons never show a word that is only function words.
WORDS = {"ngram_range": (1, 2), "stop_words": None, "sublinear_tf": True, "token_pattern": r"(?u)\b\w+\b|\?"}
# pieces of contractions the word tokenizer leaves ("I've" -> "ve"): features, but no reason to show
FRAGMENTS = {"ve", "ll", "re", "don", "didn", "doesn", "isn", "wasn", "weren", "aren", "haven", "hasn", "hadn",
             "couldn", "wouldn", "shouldn", "won", "ain", "mustn", "needn", "s", "t", "d", "m"}


class ThemeClassifier:
    """Suggest a code for an utterance from coded examples.

    Parameters
    ----------
    model : sentence-transformers model name or path used when texts (not embeddings)
        are given; ``None`` means the bundled all-MiniLM-L6-v2. A list of them reads texts
        with each model, embeddings side by side (as a fine-tuned classifier does).
    C : inverse regularisation strength of the logistic regression.
    class_weight : passed to :class:`~sklearn.linear_model.LogisticRegression`.
    themes : optional ``{code: theme}`` map, kept with the model so it can roll codes up.
    context_weight : weight of the surrounding utterances' embeddings among the features: what
        was just asked tells what an answer is about, and what comes next (a client's reply)
        tells what a therapist's turn did. 0 leaves context out.
    words : also learn from the words themselves (TF-IDF of words and word pairs).
    extra_threshold : when some training utterances carry several codes, a yes/no model per code
        is learnt as well, and :meth:`predict_sets` adds to the best code every other code whose
        own probability reaches this (0.3: best micro-F1 in cross-validation on the NHS
        comments' training part, ``bench/nhs.py``).
    theme_weight : with themes, how much the theme model counts against the code model when
        deciding the theme (a weighted geometric mean of their theme probabilities; 1 is the
        theme model alone). 0.75: best theme kappa in 5-fold document cross-validation on the
        reference study's training transcripts (``bench/definitions.py --theme-weights``).
    answer_weight : how far an utterance leans on the rest of its answer when predicting with
        ``answers`` (which rows are one speaker's consecutive utterances): the probabilities that
        decide (themes, else codes) become this share of the mean of the answer's other
        utterances' plus the rest of its own. spaCy splits an answer into several utterances,
        but it mostly stays on one theme. 0.5: best in 5-fold document cross-validation on the
        reference study's training transcripts, on both its splits (theme kappa 0.565 -> 0.627
        and 0.600 -> 0.628, ``bench/answers.py``); 0 reads each utterance alone.
    """

    def __init__(self, model: str | list | None = None, C: float = 1.0, class_weight: str | None = "balanced",
                 max_iter: int = 3000, themes: dict | None = None, context_weight: float = 0.5,
                 words: bool = True, extra_threshold: float = 0.3, theme_weight: float = 0.75,
                 answer_weight: float = 0.5):
        self.model = model
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.themes = themes
        self.context_weight = context_weight
        self.words = words
        self.extra_threshold = extra_threshold
        self.theme_weight = theme_weight
        self.answer_weight = answer_weight

    # -- learning ---------------------------------------------------------------------------
    def fit(self, texts, labels, embeddings: np.ndarray | None = None,
            context: np.ndarray | None = None, quotable: int | None = None,
            sample_weight=None) -> "ThemeClassifier":
        """Learn from texts (or their embeddings), their codes, and optionally ``context``: one
        or more embeddings per row side by side (``features.inputs`` gives the utterance before,
        the one after, the interviewer's last utterance and the speaker's run). A label may be
        a list of codes: the utterance teaches each of them. Only the first ``quotable`` rows
        (all when None) are kept as examples a reason may quote: rows after them, such as the
        codebook's definitions, teach the model but are not coded utterances. ``sample_weight``:
        how much each row counts (all 1 when None)."""
        from sklearn.linear_model import LogisticRegression

        X = self._features(texts, embeddings)
        sets = [[str(c) for c in l] if isinstance(l, (list, tuple, set)) else [str(l)] for l in labels]
        if len(X) != len(sets):
            raise ValueError(f"labels: expected one label per text ({len(X)}), got {len(sets)}")
        self.vocabulary_, self.idf_ = self._fit_words(texts)
        self.context_parts_ = 1 if context is None else max(1, np.shape(context)[1] // X.shape[1])
        F = self._design(X, texts, context)
        w = np.ones(len(sets)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.extra_classes_, self.extra_coef_, self.extra_intercept_ = self._fit_extras(F, sets, w)
        rows = np.asarray([i for i, codes in enumerate(sets) for _ in codes], dtype=int)
        F, X, y = F[rows], X[rows], np.asarray([c for codes in sets for c in codes], dtype=object)
        texts = None if texts is None else [str(texts[i]) for i in rows]
        if len(set(y)) < 2:
            raise AutocodeError(f"the classifier needs at least two different codes; got only {sorted(set(y))}",
                                "code more utterances, including some with other codes or 'no code'")
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
        lr.fit(F, y, sample_weight=w[rows])
        self.classes_ = np.asarray([str(c) for c in lr.classes_], dtype=object)
        self.coef_, self.intercept_ = _multiclass(lr.coef_, lr.intercept_)
        self.theme_classes_, self.theme_coef_, self.theme_intercept_ = self._fit_themes(F, y, w[rows])
        quote = rows < (len(sets) if quotable is None else quotable)
        self.examples_X_, self.examples_label_ = X[quote].astype(np.float32), list(y[quote])
        self.examples_text_ = [str(t) for t, q in zip(texts, quote) if q] if texts is not None else [""] * int(quote.sum())
        self.themes_ = dict(self.themes or {})
        return self

    def _fit_extras(self, F, sets: list[list[str]], w: np.ndarray):
        """A yes/no model per code, only when some utterances carry several codes: a softmax
        over codes can put one code on top but cannot say that two both apply."""
        from sklearn.linear_model import LogisticRegression

        if not any(len(set(codes)) > 1 for codes in sets):
            return None, None, None
        classes = sorted({c for codes in sets for c in codes if c} - {""})
        coef, intercept = np.zeros((len(classes), F.shape[1])), np.zeros(len(classes))
        for k, code in enumerate(classes):
            y = np.asarray([code in codes for codes in sets])
            if 0 < y.sum() < len(y):
                lr = LogisticRegression(C=4 * self.C, max_iter=self.max_iter).fit(F, y, sample_weight=w)  # 4: NHS training CV
                coef[k], intercept[k] = lr.coef_[0], lr.intercept_[0]
            else:
                intercept[k] = 30.0 if y.all() else -30.0
        return np.asarray(classes, dtype=object), coef, intercept

    def _fit_themes(self, X, y, w: np.ndarray):
        from sklearn.linear_model import LogisticRegression

        themes = np.asarray([(self.themes or {}).get(c, "") for c in y], dtype=object)
        if not self.themes or len(set(themes)) < 2:
            return None, None, None
        lr = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter).fit(X, themes, sample_weight=w)
        return (np.asarray([str(c) for c in lr.classes_], dtype=object), *_multiclass(lr.coef_, lr.intercept_))

    def _fit_words(self, texts) -> tuple[list[str], np.ndarray | None]:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not self.words or texts is None:
            return [], None
        texts = [str(t) for t in texts]
        try:
            v = TfidfVectorizer(**WORDS, min_df=2 if len(texts) >= 50 else 1).fit(texts)
        except ValueError:  # nothing but stop words
            return [], None
        return v.get_feature_names_out().tolist(), v.idf_

    def _design(self, X: np.ndarray, texts, context):
        """The feature matrix: embedding, weighted context embedding, word weights."""
        from scipy import sparse

        parts = [sparse.csr_matrix(X)]
        if self.context_weight:
            parts.append(sparse.csr_matrix(self.context_weight * self._context(X, context)))
        if self.vocabulary_:
            parts.append(self._word_features(texts, len(X)))
        return sparse.hstack(parts).tocsr()

    def _context(self, X: np.ndarray, context) -> np.ndarray:
        """The context at the width the model learnt: parts it never saw are dropped (a model
        trained before a kind of context was added keeps working) and missing ones are zeros."""
        width = X.shape[1] * self.context_parts_
        ctx = np.zeros((len(X), 0), np.float32) if context is None else np.asarray(context, dtype=np.float32)[:, :width]
        return np.hstack([ctx, np.zeros((len(X), width - ctx.shape[1]), np.float32)]) if ctx.shape[1] < width else ctx

    def _word_features(self, texts, n: int):
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer

        if texts is None:
            return sparse.csr_matrix((n, len(self.vocabulary_)))
        v = TfidfVectorizer(**WORDS, vocabulary=self.vocabulary_)
        v.idf_ = self.idf_
        return v.transform([str(t) for t in texts])

    # -- predicting -------------------------------------------------------------------------
    def decision_function(self, texts=None, embeddings: np.ndarray | None = None,
                          context: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self._design(self._features(texts, embeddings), texts, context) @ self.coef_.T) + self.intercept_

    def predict_proba(self, texts=None, embeddings: np.ndarray | None = None,
                      context: np.ndarray | None = None) -> np.ndarray:
        return _softmax(self.decision_function(texts, embeddings, context))

    def predict(self, texts=None, embeddings: np.ndarray | None = None, context: np.ndarray | None = None,
                answers=None) -> np.ndarray:
        return self.suggest(texts, embeddings, context, answers)[0]

    def predict_sets(self, texts=None, embeddings: np.ndarray | None = None,
                     context: np.ndarray | None = None, answers=None) -> list[list[str]]:
        """For each row, the best code plus any other code likely enough on its own (see
        ``extra_threshold``); only the best code when the model learnt from one code per utterance."""
        self._check_fitted()
        F = self._design(self._features(texts, embeddings), texts, context)
        codes = self.classes_[self._joint(F, answers)[1]]
        return [[str(c)] + [e for e, _ in more] for c, more in zip(codes, self._extras(F, codes))]

    def extras(self, codes, texts=None, embeddings: np.ndarray | None = None,
               context: np.ndarray | None = None) -> list[list[tuple[str, float]]]:
        """Other codes that also apply to each row, with their probability, likeliest first:
        none after "no code", and none from a model that never saw an utterance with two codes."""
        self._check_fitted()
        if self.extra_coef_ is None:
            return [[] for _ in codes]
        return self._extras(self._design(self._features(texts, embeddings), texts, context), codes)

    def _extras(self, F, codes) -> list[list[tuple[str, float]]]:
        if self.extra_coef_ is None:
            return [[] for _ in codes]
        P = 1.0 / (1.0 + np.exp(-(np.asarray(F @ self.extra_coef_.T) + self.extra_intercept_)))
        out = []
        for code, p in zip(codes, P):
            keep = [j for j in np.argsort(-p, kind="stable") if p[j] >= self.extra_threshold and self.extra_classes_[j] != code]
            out.append([] if not str(code) else [(str(self.extra_classes_[j]), float(p[j])) for j in keep])
        return out

    def suggest(self, texts=None, embeddings: np.ndarray | None = None,
                context: np.ndarray | None = None, answers=None) -> tuple[np.ndarray, np.ndarray]:
        """Best code for each row and its confidence, P(theme) x P(code | theme).

        With a theme model, the theme is decided first and the code chosen within it.
        ``answers``: one label per row, equal for the rows of one answer (see ``answer_weight``).
        """
        codes, confidence, _ = self.assess(texts, embeddings, context, answers)
        return codes, confidence

    def assess(self, texts=None, embeddings: np.ndarray | None = None,
               context: np.ndarray | None = None, answers=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best code, its confidence, and how uncertain the model is (1 - margin).

        The margin is the gap between the two likeliest themes when there is a theme model (the
        theme is decided first, and a wrong theme costs most), else between the two likeliest
        codes. A small gap means a person's decision would teach the model most: on the
        reference study this margin beat the code-level margin and entropy as the order to
        label in (``bench/active_learning.py``).
        """
        self._check_fitted()
        joint, best, theme_p = self._joint(self._design(self._features(texts, embeddings), texts, context), answers)
        return self.classes_[best], joint[np.arange(len(best)), best], 1.0 - _margin(joint if theme_p is None else theme_p)

    def _joint(self, F, answers=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """P(theme) x P(code | theme) for every code, the chosen code (theme first, then code
        within it), and P(theme) (None without a theme model); each leaning on the rest of its
        answer when ``answers`` are given."""
        proba = _softmax(np.asarray(F @ self.coef_.T) + self.intercept_)
        if self.theme_coef_ is None:
            proba = _within_answers(proba, answers, self.answer_weight)
            return proba, proba.argmax(axis=1), None
        code_theme = np.asarray([self.theme_of(c) for c in self.classes_], dtype=object)
        member = code_theme[None, :] == self.theme_classes_[:, None]           # themes x codes
        theme_of_code = np.where(member.any(axis=0), member.argmax(axis=0), -1)
        within_sum = proba @ member.T.astype(float)                            # rows x themes
        theme_p = _within_answers(self._theme_proba(F, within_sum), answers, self.answer_weight)
        joint = np.where(theme_of_code >= 0, proba * (theme_p / np.maximum(within_sum, 1e-12))[:, theme_of_code], 0.0)
        chosen = theme_p.argmax(axis=1)
        within = np.where(theme_of_code[None, :] == chosen[:, None], joint, -1.0)
        best = np.where(within.max(axis=1) > 0, within.argmax(axis=1), joint.argmax(axis=1))
        return joint, best, theme_p

    def _theme_proba(self, F, rolled_up: np.ndarray) -> np.ndarray:
        """P(theme): the theme model's, weighed geometrically against the code model's (its codes'
        probabilities summed) by ``theme_weight``."""
        theme_p = _softmax(np.asarray(F @ self.theme_coef_.T) + self.theme_intercept_)
        if self.theme_weight >= 1:
            return theme_p
        mixed = np.exp(self.theme_weight * np.log(theme_p + 1e-12) + (1 - self.theme_weight) * np.log(rolled_up + 1e-12))
        return mixed / mixed.sum(axis=1, keepdims=True)

    def driving_words(self, texts, codes, k: int = 3) -> list[list[str]]:
        """For each row, the words (and word pairs) of its text that pushed the model most
        towards its code (and that code's theme): the linear model's per-word contribution."""
        self._check_fitted()
        if not self.vocabulary_ or texts is None:
            return [[] for _ in codes]
        W = self._word_weights(self.coef_)
        index = {c: i for i, c in enumerate(self.classes_)}
        Wt = None if self.theme_coef_ is None else self._word_weights(self.theme_coef_)
        tindex = {} if Wt is None else {t: i for i, t in enumerate(self.theme_classes_)}
        X = self._word_features(texts, len(codes)).tocsr()
        out = []
        for i, code in enumerate(codes):
            row = X.getrow(i)
            w = W[index[str(code)], row.indices]
            if Wt is not None and self.theme_of(str(code)) in tindex:
                w = w + Wt[tindex[self.theme_of(str(code))], row.indices]
            out.append(_top_terms([self.vocabulary_[j] for j in row.indices], row.data * w, k))
        return out

    def _word_weights(self, coef: np.ndarray) -> np.ndarray:
        """The word columns of a coefficient matrix, each relative to the mean over classes
        (softmax only sees differences between classes)."""
        W = np.asarray(coef)[:, -len(self.vocabulary_):]
        return W - W.mean(axis=0, keepdims=True)

    def theme_of(self, code: str) -> str:
        return self.themes_.get(code, "")

    def nearest_examples(self, embeddings: np.ndarray, labels, k: int = 2,
                         chunk: int = 2048) -> list[list[tuple[str, float]]]:
        """For each row, the k most similar training examples that carry the same label: the reason.

        Rows are compared label by label and a chunk at a time, so memory stays bounded
        (a whole similarity matrix of a large project would need many GB).
        """
        self._check_fitted()
        X = np.asarray(embeddings, dtype=np.float32)
        labels = np.asarray(labels, dtype=object)
        train = np.asarray(self.examples_label_, dtype=object)
        out: list[list[tuple[str, float]]] = [[] for _ in range(len(X))]
        for label in dict.fromkeys(labels.tolist()):
            pool = np.flatnonzero(train == label)
            rows = np.flatnonzero(labels == label)
            for start in range(0, len(rows), chunk):
                part = rows[start:start + chunk]
                sims = unit_length(X[part]) @ unit_length(self.examples_X_[pool]).T  # cosine, also for models side by side
                for r, row in zip(part, sims):
                    best = np.argsort(-row, kind="stable")[:k]
                    out[r] = [(self.examples_text_[pool[i]], float(row[i])) for i in best]
        return out

    # -- saving -----------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        self._check_fitted()
        meta = {"format": FORMAT, "model": self.model, "C": self.C, "class_weight": self.class_weight,
                "max_iter": self.max_iter, "classes": list(self.classes_), "themes": self.themes_,
                "theme_classes": None if self.theme_classes_ is None else list(self.theme_classes_),
                "context_weight": self.context_weight, "context_parts": self.context_parts_,
                "words": self.words, "vocabulary": self.vocabulary_, "extra_threshold": self.extra_threshold,
                "theme_weight": self.theme_weight, "answer_weight": self.answer_weight,
                "extra_classes": None if self.extra_classes_ is None else list(self.extra_classes_),
                "examples_text": self.examples_text_, "examples_label": self.examples_label_}
        buf = io.BytesIO()
        themes = {} if self.theme_coef_ is None else {"theme_coef": self.theme_coef_, "theme_intercept": self.theme_intercept_}
        if self.idf_ is not None:
            themes["idf"] = self.idf_
        if self.extra_coef_ is not None:
            themes.update(extra_coef=self.extra_coef_, extra_intercept=self.extra_intercept_)
        np.savez_compressed(buf, coef=self.coef_, intercept=self.intercept_, examples_X=self.examples_X_,
                            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8), **themes)
        return buf.getvalue()

    def save(self, path: str | Path) -> Path:
        from .export import write_bytes

        return write_bytes(path, self.to_bytes())  # never a half-written model file

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "classifier") -> "ThemeClassifier":
        try:
            arrays = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        except Exception:
            raise AutocodeError("is not an autocode classifier file", "train one with 'autocode train --out FILE'", where) from None
        if meta.get("format") != FORMAT:
            raise AutocodeError(f"has format {meta.get('format')!r}, expected {FORMAT!r}",
                                "retrain it with this version of autocode", where)
        clf = cls(meta["model"], meta["C"], meta["class_weight"], meta["max_iter"], meta["themes"],
                  meta.get("context_weight", 0.0), meta.get("words", False), meta.get("extra_threshold", 0.3),
                  meta.get("theme_weight", 1.0),  # models saved before the weight decided by the theme model alone
                  meta.get("answer_weight", 0.0))  # and read each utterance alone
        clf.vocabulary_ = meta.get("vocabulary") or []
        clf.context_parts_ = meta.get("context_parts", 1)
        clf.idf_ = arrays["idf"] if "idf" in arrays.files else None
        clf.classes_ = np.asarray(meta["classes"], dtype=object)
        clf.coef_, clf.intercept_ = arrays["coef"], arrays["intercept"]
        clf.examples_X_ = arrays["examples_X"]
        clf.examples_text_, clf.examples_label_ = meta["examples_text"], meta["examples_label"]
        clf.themes_ = meta["themes"]
        extra = meta.get("extra_classes") is not None
        clf.extra_classes_ = np.asarray(meta["extra_classes"], dtype=object) if extra else None
        clf.extra_coef_ = arrays["extra_coef"] if extra else None
        clf.extra_intercept_ = arrays["extra_intercept"] if extra else None
        has_themes = meta.get("theme_classes") is not None
        clf.theme_classes_ = np.asarray(meta["theme_classes"], dtype=object) if has_themes else None
        clf.theme_coef_ = arrays["theme_coef"] if has_themes else None
        clf.theme_intercept_ = arrays["theme_intercept"] if has_themes else None
        return clf

    @classmethod
    def load(cls, path: str | Path) -> "ThemeClassifier":
        path = Path(path)
        if not path.is_file():
            raise AutocodeError("classifier file not found", "check the path", str(path))
        return cls.from_bytes(path.read_bytes(), str(path))

    # -- internals --------------------------------------------------------------------------
    def _features(self, texts, embeddings) -> np.ndarray:
        if embeddings is None:
            if texts is None:
                raise ValueError("texts or embeddings: give one of them, got neither")
            models = self.model if isinstance(self.model, list) else [self.model]
            embeddings = np.hstack([encode(list(texts), m) for m in models])
        return np.asarray(embeddings, dtype=np.float32)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise AutocodeError("this classifier has not been trained yet", "call fit() first, or load a saved one")


@lru_cache(maxsize=1)
def _quiet_words() -> frozenset[str]:
    """Words that are features but never a reason: function words and contraction pieces."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | FRAGMENTS


def _top_terms(terms: list[str], contribution: np.ndarray, k: int) -> list[str]:
    """The k terms with the largest positive contribution; a word inside a chosen pair is left out."""
    chosen: list[str] = []
    for j in np.argsort(-contribution, kind="stable"):
        term = terms[j]
        if contribution[j] <= 0 or len(chosen) == k:
            break
        words = set(term.split())
        if words & FRAGMENTS or words <= _quiet_words() or any(words <= set(c.split()) or set(c.split()) <= words for c in chosen):
            continue
        chosen.append(term)
    return chosen


def _margin(p: np.ndarray) -> np.ndarray:
    """Gap between the largest and second largest value of each row (the largest alone if one column)."""
    top = -np.sort(-p, axis=1)
    return top[:, 0] - (top[:, 1] if p.shape[1] > 1 else 0.0)


def _within_answers(p: np.ndarray, answers, weight: float) -> np.ndarray:
    """Each row's probabilities mixed with the mean of the other rows of its answer (a row
    alone in its answer keeps its own)."""
    if answers is None or not weight or not len(p):
        return p
    if len(answers) != len(p):
        raise ValueError(f"answers: expected one per row ({len(p)}), got {len(answers)}")
    _, which, size = np.unique(np.asarray(answers), return_inverse=True, return_counts=True)
    which = which.reshape(-1)
    totals = np.zeros((len(size), p.shape[1]))
    np.add.at(totals, which, p)
    others = (size[which] - 1)[:, None]
    return np.where(others > 0, (1 - weight) * p + weight * (totals[which] - p) / np.maximum(others, 1), p)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _multiclass(coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Binary logistic regression as two softmax rows, so prediction is one formula."""
    if coef.shape[0] == 1:
        return np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return coef, intercept
