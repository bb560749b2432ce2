"""Training the classifier on a coder's codings, and suggesting codes with it.

Cross-validation holds out whole documents, as a new transcript would be: utterances of
one interview are more alike than utterances of different ones, so random folds would
flatter the model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import codebook as cb
from . import distributed
from .classify import ThemeClassifier
from .codings import MACHINE, labels_by_utterance, require_coder
from .compare import pair_agreement
from .corpus import Utterance, check_documents, clip, utterances
from .errors import AutocodeError, Conflict, NotFound, and_list
from .features import Definitions, Inputs, Surroundings, definitions, inputs, reading, side_by_side
from .finetune import LOSSES, arithmetic, check_learning_rate, check_loss, check_precision
from .store import DEFAULT_SETTINGS, Project, default_coder, now


def training_set(conn, coder: str) -> tuple[list[Utterance], list[str], list[list[str]]]:
    """The coder's coded utterances, their main code and all their codes."""
    labels = labels_by_utterance(conn, coder)
    utts = [u for u in utterances(conn, participants_only=False) if u.id in labels]
    all_codes = [labels[u.id] for u in utts]
    return utts, [_main_code(codes) for codes in all_codes], all_codes


def _main_code(codes: list[str]) -> str:
    """An utterance's first real code, "" when it is coded "no code" only."""
    return next((c for c in codes if c), "")


def learning_set(conn, coder: str, borrow: bool = True) -> tuple[list[Utterance], list[str], list[list[str]], int]:
    """What a classifier learns from: the coder's coded utterances (:func:`training_set`), then
    (with ``borrow``) the uncoded ones of their answers with the codes they borrow
    (:func:`borrowed_codes`); utterances, main codes, all codes, and how many of them were coded."""
    utts, main, all_codes = training_set(conn, coder)
    mates, borrowed = borrowed_codes(conn, utts, all_codes) if borrow else ([], [])
    return utts + mates, main + [_main_code(cs) for cs in borrowed], all_codes + borrowed, len(utts)


# How much an utterance's borrowed codes count against a coded utterance's (``borrowed_weight``
# under [classifier] in autocode.toml; 0 learns coded utterances only). Chosen on the reference
# study's active-learning curves over two transcript splits other than the benchmark's (seeds 1
# and 2), one utterance per answer first: labels needed to reach 90% of the full-data kappa, 15%
# and 25% at 0.5, 25% and 25% at 0.3, 30% and 30% at 1, against 25% and 30% with nothing borrowed
# and the most uncertain utterances first, as before (``bench/active_learning.py``).
BORROWED = DEFAULT_SETTINGS["classifier"]["borrowed_weight"]


def row_weights(rows, scored: int | None, borrowed: float = BORROWED) -> np.ndarray | None:
    """1 for each of ``rows`` below ``scored`` (coded), ``borrowed`` for the rest; None when
    ``scored`` is None (every row coded)."""
    return None if scored is None else np.where(np.asarray(list(rows), dtype=int) < scored, 1.0, borrowed)


def borrowed_weight(project: Project) -> float:
    """The ``borrowed_weight`` setting, refused in plain words unless it is between 0 and 1
    (``Project.setting`` has already refused what is not a number, but lets true/false by as 1/0)."""
    w = project.setting("classifier", "borrowed_weight")
    if isinstance(w, bool) or not 0 <= w <= 1:
        raise AutocodeError(f"'borrowed_weight' under [classifier] in {project.root / 'autocode.toml'} must be a "
                            f"number from 0 to 1, not {w!r}",
                            "set it to 0.5 (the default), or to 0 to learn from coded utterances only")
    return float(w)


def answer_mates(answers, coded, others) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``others`` that share an answer (``answers``: one number per row) with a row of
    ``coded``, and for each the nearest of those coded rows (the earlier one on a tie).

    A coder mostly gives an answer one theme (on the reference study 78% of pairs of utterances
    in one answer share one), so until someone codes these utterances the classifier learns them
    with their neighbour's codes: one code on a sentence then teaches the whole answer, which
    matters most while few are coded (``bench/active_learning.py``)."""
    answers, by_answer = np.asarray(answers), {}
    for r in coded:
        by_answer.setdefault(answers[r], []).append(int(r))
    pairs = [(int(r), min(by_answer[answers[r]], key=lambda k: (abs(k - r), k))) for r in others
             if answers[r] in by_answer]
    mates, sources = zip(*pairs) if pairs else ((), ())
    return np.asarray(mates, dtype=int), np.asarray(sources, dtype=int)


def borrowed_codes(conn, utts: list[Utterance], all_codes: list[list[str]]) -> tuple[list[Utterance], list[list[str]]]:
    """The utterances nobody coded in the answers of ``utts``, with the codes each borrows from
    its nearest coded neighbour (see :func:`answer_mates`): learnt from, never scored or quoted."""
    if not utts:
        return [], []
    every = utterances(conn, sorted({u.document for u in utts}), participants_only=False)
    place, coded = {u.id: i for i, u in enumerate(every)}, {u.id for u in utts}
    rows = [place[u.id] for u in utts]
    others = [i for i, u in enumerate(every) if u.id not in coded]
    mates, sources = answer_mates(Surroundings.of(conn, every).answers, rows, others)
    codes_at = dict(zip(rows, all_codes))
    return [every[m] for m in mates], [codes_at[s] for s in sources]


def fit_predict(inp: Inputs, all_codes, train, test, themes: dict, C: float,
                definitions: Definitions | None = None) -> np.ndarray | str:
    """Train on rows ``train``, predict rows ``test``; a single code seen is all a model could say."""
    return fit_assess(inp, all_codes, train, test, themes, C, definitions)[0]


def fit_assess(inp: Inputs, all_codes, train, test, themes: dict, C: float, definitions: Definitions | None = None,
               weights=None) -> tuple[np.ndarray | str, np.ndarray | float]:
    """Like :func:`fit_predict`, with each prediction's confidence; ``weights``: how much each
    ``train`` row counts (see :func:`row_weights`)."""
    labels = [all_codes[i] for i in train]
    seen = {c for codes in labels for c in codes}
    if len(seen) < 2:
        return next(iter(seen)), 1.0
    clf = fit_classifier(inp.rows(train), labels, themes, C, definitions, weights=weights)
    new = inp.rows(test)
    return clf.suggest(new.texts, embeddings=new.X, context=new.context, answers=new.answers)


def fit_classifier(inp: Inputs, labels: list[list[str]], themes: dict, C: float,
                   definitions: Definitions | None = None, model: str | None = None,
                   quotable: int | None = None, weights=None) -> ThemeClassifier:
    """The classifier learnt from coded utterances and the codebook's definitions of the codes
    they carry (a code nobody used is never suggested); reasons quote only the utterances, or
    only the first ``quotable`` rows (the rest borrowed their codes, see :func:`borrowed_codes`).
    ``weights``: how much each row counts (1 each when None; definitions count 1)."""
    quotable = len(labels) if quotable is None else quotable
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=float)
    if definitions is not None:
        used = {c for codes in labels for c in codes if c}
        extra, more = definitions.for_codes(used, inp.context.shape[1] // max(inp.X.shape[1], 1))
        inp, labels, weights = inp.plus(extra), labels + more, np.concatenate([weights, np.ones(len(more))])
    return ThemeClassifier(model=model, C=C, themes=themes).fit(inp.texts, labels, embeddings=inp.X, context=inp.context,
                                                                quotable=quotable, sample_weight=weights)


ONE_DOCUMENT = ("Cross-validation needs codings in at least two documents, so there is no figure yet for how far "
                "the suggestions can be trusted: code some utterances in another transcript and train again.")


def cross_validate(inp: Inputs, main: list[str], all_codes: list[list[str]], groups: list[str],
                   themes: dict, C: float = 1.0, folds: int = 5, retuned=None,
                   definitions: Definitions | None = None, readings: dict | None = None,
                   scored: int | None = None, borrowed: float = BORROWED, unscored: set[int] = frozenset()) -> dict:
    """Document-fold agreement of the classifier with the coder, for codes and for themes, and
    the confidence below which a suggestion is better called uncertain (see :func:`abstention`).
    Only the first ``scored`` rows (all when None) are scored: the rest borrowed their codes and
    only teach their folds, each counting ``borrowed``; rows in ``unscored`` (suggestions accepted
    unread) teach but are not scored either, since scoring the classifier on its own output flatters it.
    ``retuned(train_rows)``, when given, returns the inputs and definitions read by a model tuned
    on those rows only. ``readings`` ({name: models kept}, see :func:`reading`) scores several
    ways of reading the same folds, each fold's model made once; the result is then one
    summary per name."""
    from sklearn.model_selection import GroupKFold

    n_groups, views = len(set(groups)), readings or {"": None}
    if n_groups < 2:
        return _per(readings, {name: {"note": ONE_DOCUMENT} for name in views})
    n = len(main) if scored is None else scored
    out = {name: (np.empty(n, dtype=object), np.zeros(n)) for name in views}
    for train, test in GroupKFold(n_splits=min(folds, n_groups)).split(inp.X, main, groups):
        test = test[test < n]
        fold, defs = (inp, definitions) if retuned is None else retuned(train)
        for name, keep in views.items():
            f, d = (fold, defs) if keep is None else (reading(fold, keep), defs and defs.reading(keep))
            out[name][0][test], out[name][1][test] = fit_assess(f, all_codes, train, test, themes, C, d,
                                                                    row_weights(train, scored, borrowed))
    keep = np.array([i for i in range(n) if i not in unscored], dtype=int)
    if not keep.size:
        return _per(readings, {name: {"note": ALL_UNREAD} for name in views})
    return _per(readings, {name: _cv_summary(np.asarray(main[:n], dtype=object)[keep], predicted[keep], confidence[keep],
                                             themes, min(folds, n_groups), n_groups)
                           for name, (predicted, confidence) in out.items()})


ALL_UNREAD = ("No agreement figure: every coding it learnt from is a suggestion accepted unread, and scoring the "
              "classifier on its own suggestions would flatter it. Code some utterances one by one, then train again.")


def _per(readings: dict | None, summaries: dict) -> dict:
    return summaries if readings else summaries[""]


def _cv_summary(main, predicted, confidence, themes: dict, folds: int, documents: int) -> dict:
    as_theme = np.vectorize(lambda c: themes.get(c, ""), otypes=[object])
    level = as_theme if len(set(themes.values())) > 1 else (lambda c: c)
    return {"folds": folds, "documents": documents,
            "codes": pair_agreement(main, predicted), "themes": pair_agreement(as_theme(main), as_theme(predicted)),
            "abstention": {**abstention(level(np.asarray(main, dtype=object)), level(predicted), confidence),
                           "level": "themes" if level is as_theme else "codes"}}


SUBSTANTIAL = 0.61  # Landis and Koch: kappa from 0.61 is "substantial" agreement


def abstention(truth, predicted, confidence, target: float = SUBSTANTIAL, min_coverage: float = 0.1) -> dict:
    """The lowest confidence threshold at which the suggestions at or above it agree with the
    coder substantially (kappa >= ``target``) in cross-validation, with the share of utterances
    they cover. Below it a suggestion is best read as "uncertain". ``threshold`` is None when no
    threshold covering at least ``min_coverage`` gets there. ``curve`` has the coverage and
    kappa at each threshold tried, for choosing another trade-off."""
    truth, predicted, confidence = np.asarray(truth), np.asarray(predicted), np.asarray(confidence)
    curve = []
    for t in np.unique(np.floor(np.quantile(confidence, np.linspace(0, 1 - min_coverage, 19)) * 1000) / 1000):
        keep = confidence >= t
        curve.append({"threshold": float(t), "coverage": float(keep.mean()),
                      "kappa": pair_agreement(truth[keep], predicted[keep])["cohen_kappa"]})
    found = next((c for c in curve if c["kappa"] is not None and c["kappa"] >= target), None)
    return {"target_kappa": target, **(found or {"threshold": None, "coverage": 0.0, "kappa": None}), "curve": curve}


def train(project: Project, coder: str, C: float | None = None, evaluate: bool = True,
          fine_tune: bool | None = None) -> dict:
    """Fit on ``coder``'s codings, cross-validate, and store the model in the project.

    With ``fine_tune`` the embedding model (or ``fine_tune_model``) is first tuned on the
    coder's codes (see :mod:`autocode.finetune`); cross-validation then tunes a model of its
    own for each fold, so its figures never see the utterances they score, and keeps the way of
    reading the utterances (:data:`READINGS`; unless ``fine_tune_reading`` fixes it), and with
    ``fine_tune_loss = "best"`` the loss, that agreed best with the coder.
    """
    C = project.setting("classifier", "C") if C is None else C
    fine_tune = project.setting("classifier", "fine_tune") if fine_tune is None else fine_tune
    model, batch = project.setting("embedding", "model"), project.setting("embedding", "batch_size")
    tuning = tuning_settings(project) if fine_tune else None
    base, asked = tuning_source(project, model) if fine_tune else (model, AUTO)
    if coder == MACHINE:
        raise AutocodeError("the machine's suggestions are no one's coding to learn from",
                            "train on a person's codings: autocode train --coder NAME")
    with project.transaction() as conn:
        require_coder(conn, coder)
        weight = borrowed_weight(project)
        utts, main, all_codes, scored = learning_set(conn, coder, borrow=weight > 0)
        themes = {c.id: c.theme for c in cb.load(conn).codes}
        metrics = {**_counts(coder, main[:scored], len(utts) - scored, fine_tune), "borrowed_weight": weight,
                   "last_coding": conn.execute("SELECT MAX(id) FROM codings").fetchone()[0]}
        groups = [u.document for u in utts]
        unread = _unread_rows(conn, coder, utts[:scored])
        metrics["accepted_unread"] = len(unread)
        used = model
        if fine_tune:
            labels = tuning_labels(all_codes[:scored], themes)   # borrowed codes tune nothing
            metrics.update({"tuned_from": base} if base != model else {})
            if evaluate:
                general = inputs(conn, utts, model, batch)   # once, however many losses are tried
                metrics.update(choose_tuning(conn, utts, labels, (model, base), batch, tuning, lambda retuned: choose_reading(
                    general, main, all_codes, groups, themes, C, retuned, scored=scored, borrowed=weight,
                    unscored=unread, readings=None if asked == AUTO else {asked: READINGS[asked]})))
            metrics.setdefault("reading", DEFAULT_READING if asked == AUTO else asked)
            metrics.update({"reading_asked": asked} if asked != AUTO else {})
            used = _tuned_reading(project, metrics, tuning, utts[:scored], labels, (model, base), coder)
        inp = inputs(conn, utts, resolve_model_in(project, used), batch)
        defs = definitions(conn, resolve_model_in(project, used), batch)
        metrics["definitions"] = len({c.id for c in cb.load(conn).codes if c.definition} & {c for cs in all_codes for c in cs})
        if evaluate and not fine_tune:
            metrics["cross_validation"] = cross_validate(inp, main, all_codes, groups, themes, C, definitions=defs,
                                                         scored=scored, borrowed=weight, unscored=unread)
        # an utterance with two codes teaches both
        clf = fit_classifier(inp, all_codes, themes, C, defs, model=used, quotable=scored,
                             weights=row_weights(range(len(utts)), scored, weight))
        conn.execute("INSERT INTO classifiers (coder, created_at, metrics, model) VALUES (?, ?, ?, ?)",
                     (coder, now(), json.dumps(metrics), clf.to_bytes()))
        project.log("train", coder, utterances=scored, borrowed=metrics["borrowed"], codes=len(metrics["codes"]),
                    fine_tuned=bool(fine_tune), reading=metrics.get("reading"), cross_validation=metrics.get("cross_validation"))
    if fine_tune:  # earlier tunings are dead weight
        _forget_old_tunings(project, used)
    return metrics


def _unread_rows(conn, coder: str, utts: list[Utterance]) -> set[int]:
    """Rows of ``utts`` the coder coded only by accepting suggestions in bulk (confirm.UNREAD)."""
    from .confirm import UNREAD

    unread = {r[0] for r in conn.execute("SELECT utterance FROM codings WHERE coder = ? AND reason = ?", (coder, UNREAD))}
    return {i for i, u in enumerate(utts) if u.id in unread}


def _counts(coder: str, coded: list[str], borrowed: int, fine_tune: bool) -> dict:
    """What a training learnt from: coded utterances per main code, and how many borrowed theirs."""
    return {"coder": coder, "utterances": len(coded), "codes": sorted(set(coded) - {""}),
            "counts": {c: coded.count(c) for c in sorted(set(coded))}, "fine_tuned": bool(fine_tune),
            "borrowed": borrowed}


# How a fine-tuned classifier may read utterances: which of (general model, tuned model) it
# reads, side by side. None wins everywhere on training transcripts (``bench/tuned_dev.py``):
# on AnnoMI's therapist behaviour both models together did best (kappa 0.772 against 0.765
# tuned, 0.735 general, mean of three dev splits), on its client talk the general model alone
# (0.307 against 0.285 tuned, 0.272 both), and on the reference study's 795 utterances tuning
# did worse too. So ``train --fine-tune`` cross-validates all three, with a tuned model per
# fold, and keeps the best; without cross-validation it reads the tuned model.
READINGS = {"general": [0], "tuned": [1], "both": [0, 1]}
DEFAULT_READING = "tuned"
# fine_tune_reading = "auto": cross-validation chooses (without it, DEFAULT_READING); "tuned" or
# "both" fixes the reading, so a project that already knows it (or its dev splits do) can skip
# cross-validation's five extra tunings and still read both models side by side
AUTO = DEFAULT_SETTINGS["classifier"]["fine_tune_reading"]
ASKABLE = (AUTO, "tuned", "both")
# fine_tune_loss = "best": cross-validation tunes with each loss and keeps the best (bench/psw.py:
# contrastive and combined tie on the reference study, cross-entropy leads on AnnoMI)
CHOOSE_LOSS = "best"


def _tuned_reading(project: Project, metrics: dict, tuning: dict, utts: list[Utterance], labels: list[tuple],
                   models: tuple, coder: str) -> str | list:
    """The model name(s) of the reading kept, tuning the final model with the loss kept; the
    general model alone needs no tuning at all. ``models``: (the general model, the one tuned)."""
    model, base = models
    metrics["passes"] = tuning["epochs"]
    metrics["learning_rate"] = tuning["learning_rate"]
    metrics["precision"] = arithmetic(tuning["precision"])   # what it stood for on this machine
    metrics.setdefault("tuning_loss", LOSSES[0] if tuning["loss"] == CHOOSE_LOSS else tuning["loss"])
    keep = READINGS[metrics["reading"]]
    if keep == [0]:
        return model
    tuned = _tune_into(project, utts, labels, base, coder, {**tuning, "loss": metrics["tuning_loss"]})
    return tuned if keep == [1] else [model, tuned]


def choose_reading(inp: Inputs, main, all_codes, groups, themes: dict, C: float, retuned,
                   definitions: Definitions | None = None, scored: int | None = None,
                   borrowed: float = BORROWED, readings: dict | None = None, unscored: set[int] = frozenset()) -> dict:
    """Cross-validate each of ``readings`` (default :data:`READINGS`) on the same folds and keep
    the one with the best kappa at the level the classifier decides (themes when the codebook
    has several, else codes); a tie goes to the simpler one."""
    readings = readings or READINGS
    level = "themes" if len(set(themes.values())) > 1 else "codes"
    results = cross_validate(inp, main, all_codes, groups, themes, C, retuned=retuned, definitions=definitions,
                             readings=readings, scored=scored, borrowed=borrowed, unscored=unscored)
    score = {n: (r.get(level) or {}).get("cohen_kappa") for n, r in results.items()}
    best = max(readings, key=lambda n: -2 if score[n] is None else score[n])  # the first of equals
    default = DEFAULT_READING if DEFAULT_READING in readings else best
    best = default if score[best] is None else best   # nothing could be scored (one document)
    return {"reading": best, "readings": score, "cross_validation": results[best]}


def choose_tuning(conn, utts: list[Utterance], labels: list[tuple], models: tuple, batch: int, tuning: dict,
                  score) -> dict:
    """:func:`choose_reading`'s result (``score(retuned)``) for the loss asked for, or with
    :data:`CHOOSE_LOSS` for each of :data:`autocode.finetune.LOSSES` (as many tunings again
    each), keeping the loss whose kept reading agreed best; a tie goes to the earlier loss."""
    losses = LOSSES if tuning["loss"] == CHOOSE_LOSS else (tuning["loss"],)
    tried = {loss: score(_fold_tuner(conn, utts, labels, models, batch, {**tuning, "loss": loss})) for loss in losses}
    kappa = {loss: r["readings"].get(r["reading"]) for loss, r in tried.items()}
    best = max(losses, key=lambda loss: -2 if kappa[loss] is None else kappa[loss])
    return {**tried[best], "tuning_loss": best} | ({"losses": kappa} if len(losses) > 1 else {})


def tuning_settings(project: Project) -> dict:
    """The passes, loss, learning rate and precision of ``autocode.toml``, all but the passes
    checked before any work starts (fine_tune checks those)."""
    loss, rate = project.setting("classifier", "fine_tune_loss"), project.setting("classifier", "fine_tune_learning_rate")
    precision = project.setting("classifier", "fine_tune_precision")
    check_loss(loss, also=(CHOOSE_LOSS,))
    check_learning_rate(rate)
    check_precision(precision)
    return {"epochs": project.setting("classifier", "fine_tune_passes"), "loss": loss, "learning_rate": rate,
            "precision": precision}


def tuning_source(project: Project, model: str | None) -> tuple[str | None, str]:
    """The model to tune (``fine_tune_model``; the project's embedding ``model`` when unset) and
    the reading asked for (``fine_tune_reading``), both checked before any work starts. The
    project keeps its fast model for everything else; the classifier alone pays for a larger
    one (AnnoMI client talk: 0.358 held out, its time 617 s instead of 883 s, docs/benchmarks.md)."""
    base, asked = project.setting("classifier", "fine_tune_model"), project.setting("classifier", "fine_tune_reading")
    where = project.root / "autocode.toml"
    if asked not in ASKABLE:
        raise AutocodeError(f"'fine_tune_reading' under [classifier] in {where} is {asked!r}; it can be "
                            f"{', '.join(repr(a) for a in ASKABLE[:-1])} or {ASKABLE[-1]!r}",
                            "set it to 'auto' (the default: cross-validation chooses), 'tuned' or 'both'; to read "
                            "the project's own model alone, train without --fine-tune (and set fine_tune = false)")
    folder = project.root / Path(base).expanduser()   # a relative folder is the project's
    if base and not any((folder / f).is_file() for f in ("modules.json", "config.json")):
        raise AutocodeError(f"'fine_tune_model' under [classifier] in {where} is {base!r}, but {folder} is not the "
                            "folder of a sentence-transformers model on this computer",
                            "give the folder of a sentence-transformers model you have downloaded (a relative one "
                            "is read from the project folder), or remove the line to tune the project's own "
                            "embedding model")
    return (str(folder.resolve()) if base else model), asked


def idle_tuning_settings(project: Project, fine_tune: bool | None) -> list[str]:
    """The tuning settings changed from their defaults in a training that does not tune: the
    researcher may think they are in use."""
    if fine_tune if fine_tune is not None else project.setting("classifier", "fine_tune"):
        return []
    ours = project.settings.get("classifier", {})
    return [k for k in sorted(ours) if k.startswith("fine_tune_") and ours[k] != DEFAULT_SETTINGS["classifier"].get(k)]


TUNED = "fine-tuned"  # the project's folder of tuned embedding models


def tuning_labels(all_codes: list[list[str]], themes: dict) -> list[tuple[str, ...]]:
    """What the network is tuned to tell apart, every one an utterance carries (as the
    classifier learns each of them): themes when the codebook has several (the classifier
    decides the theme first), else codes; "no code" is a class of its own."""
    by_theme = len({themes.get(c, "") for codes in all_codes for c in codes if c}) > 1
    return [tuple(sorted({themes.get(c, "") if by_theme else c for c in codes if c} or {""})) for codes in all_codes]


def _fold_tuner(conn, utts: list[Utterance], labels: list[tuple], models: tuple, batch: int, tuning: dict):
    """retuned(rows): the inputs of every utterance, and the codebook's definitions, as read by
    ``model`` and, side by side, ``base`` (``models`` = (model, base)) tuned on ``rows`` only (those of the first
    ``len(labels)`` utterances, the coded ones), kept in a temporary folder and
    never cached (it lives for one cross-validation fold). A fold whose rows carry a single
    label cannot be tuned; it reads with ``base`` untuned in the tuned model's place, as a fold
    that cannot be cross-validated falls back to that label. ``tuning``: the passes, loss,
    learning rate and precision (:func:`autocode.finetune.fine_tune`'s keywords)."""
    import tempfile

    from .finetune import fine_tune

    model, base = models
    inp = inputs(conn, utts, model, batch)

    def retuned(rows):
        rows = [i for i in rows if i < len(labels)]
        if len({label for i in rows for label in labels[i]}) < 2:   # another model's vectors stay out of the cache
            untuned = inp if base == model else inputs(conn, utts, base, batch, cache=False)
            return side_by_side([inp, untuned]), definitions(conn, [model, base], batch, cache=base == model)
        with tempfile.TemporaryDirectory(prefix="autocode-fold-") as tmp:
            folder = str(fine_tune([utts[i].text for i in rows], [labels[i] for i in rows], Path(tmp) / "model", base,
                                   **tuning))
            return (side_by_side([inp, inputs(conn, utts, folder, batch, cache=False)]),
                    definitions(conn, [model, folder], batch, cache=False))  # a codebook's few words
    return retuned


def _tune_into(project: Project, utts: list[Utterance], labels: list[tuple], model: str | None, coder: str,
               tuning: dict) -> str:
    """Tune on every training utterance into the project's folder; returns the model's name
    relative to the project, so the project can be moved or shared whole."""
    import re
    import time

    from .finetune import fine_tune

    name = f"{TUNED}/{re.sub(r'[^A-Za-z0-9_-]+', '-', coder)}-{time.strftime('%Y%m%d-%H%M%S')}"
    fine_tune([u.text for u in utts], labels, project.root / name, model, **tuning)
    return name


def resolve_model_in(project: Project, model: str | list | None) -> str | list | None:
    """A tuned model is named relative to its project; any other name passes through."""
    if isinstance(model, (list, tuple)):
        return [resolve_model_in(project, m) for m in model]
    if not model or not model.startswith(TUNED + "/"):
        return model
    path = project.root / model
    if not path.is_dir():
        raise NotFound(f"this classifier reads utterances with the fine-tuned model '{model}', which is not in the project",
                       "train again ('autocode train --fine-tune'), or copy that folder from the project it was trained in",
                       str(project.root))
    return str(path)


def _forget_old_tunings(project: Project, used: str | list) -> None:
    """Once a new classifier is stored, tuned models it does not read (folders and cached
    vectors) are dead weight."""
    import shutil

    keep = {used} if isinstance(used, str) else set(used)
    folders = (project.root / TUNED).iterdir() if (project.root / TUNED).is_dir() else []
    for folder in folders:
        if folder.is_dir() and f"{TUNED}/{folder.name}" not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            with project.transaction() as conn:
                conn.execute("DELETE FROM embeddings WHERE model LIKE ?", (str(folder) + "%",))


def latest_classifier(conn) -> tuple[ThemeClassifier, dict]:
    row = conn.execute("SELECT model, metrics FROM classifiers ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        raise NotFound("no classifier has been trained in this project yet",
                            "confirm some codings (accept candidates or import-codings), then run 'autocode train'")
    return ThemeClassifier.from_bytes(row["model"]), json.loads(row["metrics"])


def _latest_training(conn) -> tuple[str | None, dict]:
    """When the project's latest classifier was trained, and its metrics ((None, {}) before any)."""
    row = conn.execute("SELECT created_at, metrics FROM classifiers ORDER BY id DESC LIMIT 1").fetchone()
    return (None, {}) if row is None else (row["created_at"], json.loads(row["metrics"]))


def latest_metrics(conn) -> dict:
    """What the project's latest training reported ({} before any)."""
    return _latest_training(conn)[1]


def trained_coder(conn) -> str | None:
    """Whose codings the project's latest classifier learnt from (None before any training)."""
    return _latest_training(conn)[1].get("coder")


def learnt_from(project: Project, rows: list[dict]) -> tuple[str, int]:
    """The coder the project's latest classifier learnt from, and how many of the suggestion
    ``rows`` are utterances that coder had coded when it was trained: agreement with them
    there measures memory, not how well it codes new text."""
    created, metrics = _latest_training(project.conn)
    if created is None or not rows:
        return "", 0
    return metrics.get("coder", ""), _seen(project.conn, created, metrics, rows)


def _seen(conn, created: str, metrics: dict, rows: list[dict]) -> int:
    """How many ``rows`` (document, utterance) the training of ``metrics`` learnt from."""
    last = metrics.get("last_coding")
    # the newest coding it could have read; a classifier trained before that was recorded: its time
    when = ("c.id <= ?", last) if last is not None else ("c.created_at <= ?", created)
    seen = {tuple(r) for r in conn.execute(
        "SELECT u.document, u.idx FROM codings c JOIN utterances u ON u.id = c.utterance"
        f" WHERE c.coder = ? AND {when[0]}", (metrics.get("coder", ""), when[1]))}
    return sum((r["document"], r["utterance"]) in seen for r in rows)


def machine_on_training(project: Project, coders: list[str], documents: list[str] | None = None,
                        leave_out: set[int] = frozenset()) -> tuple[str, int]:
    """:func:`learnt_from` for the machine's stored suggestions, when a comparison sets the
    machine beside a coder its classifier learnt from. Each suggestion is checked against the
    classifier that made it, which may be older than the latest: a suggestion made before the
    coder's codings were learnt did not learn them. ``leave_out``: utterance ids not compared."""
    trainings = [(r["created_at"], json.loads(r["metrics"]))
                 for r in project.conn.execute("SELECT created_at, metrics FROM classifiers ORDER BY id")]
    if MACHINE not in coders or not trainings:
        return "", 0
    sql = ("SELECT c.id, c.created_at, u.id AS uid, u.document, u.idx AS utterance FROM codings c"
           " JOIN utterances u ON u.id = c.utterance WHERE c.coder = ?")
    if documents:
        sql += f" AND u.document IN ({','.join('?' * len(documents))})"
    made_by: dict[int, list[dict]] = {}
    for r in project.conn.execute(sql, [MACHINE, *(documents or [])]):
        if r["uid"] not in leave_out and (k := _made_by(trainings, r["id"], r["created_at"])) is not None:
            made_by.setdefault(k, []).append(dict(r))
    counts = {k: _seen(project.conn, *trainings[k], rows) for k, rows in made_by.items()
              if trainings[k][1].get("coder") in coders}
    teachers = sorted({trainings[k][1]["coder"] for k, n in counts.items() if n})
    return and_list(teachers), sum(counts.values())


def _made_by(trainings: list[tuple[str, dict]], coding: int, created: str) -> int | None:
    """The index of the training whose classifier made a machine coding: the latest trained
    before it, by the codings it had read (a newer id) or by the clock (a later second: SQLite
    reuses the ids of the newest rows once they are deleted, as remove-codings does)."""
    found = None
    for k, (when, metrics) in enumerate(trainings):
        last = metrics.get("last_coding")
        if (coding > last or created > when) if last is not None else created >= when:
            found = k
    return found


def suggest(project: Project, documents: list[str] | None = None, classifier: ThemeClassifier | None = None,
            coder: str | None = None, include_coded: bool = False) -> list[dict]:
    """Machine codings for participant utterances the classifier's teacher has not coded;
    replaces earlier suggestions.

    ``include_coded`` codes the utterances people coded too, so the machine can be compared
    with them (``autocode compare alice machine``).
    """
    with project.transaction() as conn:
        clf = _classifier_for(conn, documents, classifier)
        targets = _targets(conn, documents, include_coded, None if classifier else trained_coder(conn))
        if not targets:
            return []
        inp = inputs(conn, targets, resolve_model_in(project, clf.model), project.setting("embedding", "batch_size"))
        rows = _current_themes(conn, distributed.score(_suggestions, clf, targets, inp))  # on a Dask cluster if one is in use
        _store_machine(conn, rows)
        project.log("suggest", coder or default_coder(), documents=sorted({u.document for u in targets}),
                    utterances=len(rows))
    return rows


def next_to_confirm(project: Project, n: int = 20, documents: list[str] | None = None) -> list[dict]:
    """The ``n`` uncoded participant utterances the latest classifier is least sure about, most
    uncertain first, one per answer before any answer's second (:func:`one_per_answer`): a
    person's decision on these teaches the model most (uncertainty sampling by margin, see
    ``bench/active_learning.py``). Each row is a suggestion plus its
    ``uncertainty`` (1 minus the gap between the two likeliest codes). Stores no coding."""
    with project.transaction() as conn:
        clf = _classifier_for(conn, documents)
        targets = _targets(conn, documents, include_coded=False, teacher=trained_coder(conn))
        if not targets or n <= 0:
            return []
        inp = inputs(conn, targets, resolve_model_in(project, clf.model), project.setting("embedding", "batch_size"))
        rows = _current_themes(conn, distributed.score(_suggestions, clf, targets, inp))  # in parts: memory stays bounded
    order = sorted(range(len(rows)), key=lambda i: (-rows[i]["uncertainty"], i))
    return [rows[i] for i in one_per_answer(order, inp.answers)[:n]]


def _current_themes(conn, rows: list[dict]) -> list[dict]:
    """Each suggestion under its code's theme in the codebook now: a code moved since training
    keeps its id, and the classifier remembers the theme it had then. The names ride along for
    the CSV a researcher reads."""
    book = cb.load(conn)
    for r in rows:
        r.update(book.labels(r["code"], r["theme"]))
    return rows


def one_per_answer(order, answers) -> list[int]:
    """``order`` (rows, most uncertain first) with the first row of each answer ahead of any
    answer's second. An answer's utterances are uncertain together (each leans on the others),
    and one code on one of them teaches the rest (:func:`answer_mates`), so asking about
    different answers teaches more. With the borrowed codes, on the reference study 90% of the
    full-data kappa came with 15% of the labels instead of 30%; without them this order alone
    needed 40% (``bench/active_learning.py``)."""
    if answers is None:
        return list(order)
    first, later, seen = [], [], set()
    for i in order:
        (later if answers[i] in seen else first).append(i)
        seen.add(answers[i])
    return first + later


def _classifier_for(conn, documents: list[str] | None, classifier: ThemeClassifier | None = None) -> ThemeClassifier:
    """The classifier to code ``documents`` with; a typo in a document id is told first."""
    if documents:
        check_documents(conn, documents)
    return classifier or _current(conn, latest_classifier(conn)[0])


def _current(conn, clf: ThemeClassifier) -> ThemeClassifier:
    """The project's classifier, unless the codebook lost codes it suggests since training
    (merged or removed): its suggestions would name codes that no longer exist."""
    gone = sorted({str(c) for c in clf.classes_} - {c.id for c in cb.load(conn).codes} - {""})
    if gone:
        raise Conflict(f"the codebook changed since the classifier was trained: {', '.join(gone[:6])} "
                       f"{'is' if len(gone) == 1 else 'are'} no longer in it (merged or removed)",
                       f"train it again first: autocode train --coder {trained_coder(conn) or 'NAME'} "
                       "(or Retrain and suggest on the review page)")
    return clf


def _targets(conn, documents: list[str] | None, include_coded: bool, teacher: str | None = None) -> list[Utterance]:
    """Participant utterances of ``documents`` (all when None, checked by the caller), less
    those the classifier's teacher has coded: the suggestions are for what they still have to
    code, and a second coder's codings (a reliability check) leave an utterance open, so the
    machine can be compared with that coder. With no teacher known, less those anyone coded."""
    if include_coded:
        return utterances(conn, documents)
    sql, args = "SELECT DISTINCT utterance FROM codings WHERE coder != ?", [MACHINE]
    if teacher:
        sql, args = sql + " AND coder = ?", args + [teacher]
    done = {r[0] for r in conn.execute(sql, args)}
    return [u for u in utterances(conn, documents) if u.id not in done]


def _suggestions(clf: ThemeClassifier, targets: list[Utterance], inp: Inputs) -> list[dict]:
    codes, confidence, uncertainty = clf.assess(inp.texts, embeddings=inp.X, context=inp.context, answers=inp.answers)
    examples = clf.nearest_examples(inp.X, codes, k=2)
    words = clf.driving_words(inp.texts, codes, k=3)
    also = clf.extras(codes, inp.texts, embeddings=inp.X, context=inp.context)
    return [{"utterance_id": u.id, "document": u.document, "utterance": u.idx, "start": u.start, "end": u.end,
             "speaker": u.speaker, "text": u.text, "code": str(code), "theme": clf.theme_of(str(code)),
             "coder": MACHINE, "confidence": round(float(p), 4), "uncertainty": round(float(q), 4),
             "reason": reason(e, w, a)}
            for u, code, p, q, e, w, a in zip(targets, codes, confidence, uncertainty, examples, words, also)]


def reason(examples: list[tuple[str, float]], words: list[str] = (), also: list[tuple[str, float]] = ()) -> str:
    """One plain-English line: the confirmed utterances most like this one that carry the same
    code, with their similarity, the words of this one that pushed the model to the code, and
    any other code that probably applies as well (the coder decides whether to add it)."""
    parts = []
    if examples:
        parts.append("closest confirmed examples: " + "; ".join(f"\u201c{clip(t, 90)}\u201d (similarity {s:.2f})"
                                                               for t, s in examples))
    if words:
        parts.append("words that drove it: " + ", ".join(f"\u201c{w}\u201d" for w in words))
    if also:
        parts.append("may also be: " + ", ".join(f"{c} (confidence {p:.2f})" for c, p in also))
    return "; ".join(parts)


def _store_machine(conn, rows: list[dict]) -> None:
    ids = [r["utterance_id"] for r in rows]
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        conn.execute(f"DELETE FROM codings WHERE coder = ? AND utterance IN ({','.join('?' * len(chunk))})", [MACHINE, *chunk])
    conn.executemany("INSERT INTO codings (utterance, code, coder, confidence, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     [(r["utterance_id"], r["code"], MACHINE, r["confidence"], r["reason"], now()) for r in rows])
