"""How ``autocode train`` puts a trained classifier into words: what it learnt from, codes too thin
to learn, what tuning did and which reading cross-validation kept, and the cross-validated
agreement in plain words. ``cli`` keeps the command itself."""
from __future__ import annotations

from .cli import fmt, out, warn


def print_training(metrics: dict, cv: bool) -> None:
    """What training learnt from, what it did to the embedding model, and how far to trust it."""
    no_code = " plus 'no code'" if "" in metrics.get("counts", {}) else ""
    out.print(f"Trained on {metrics['utterances']} utterances coded by {metrics['coder']} "
              f"({len(metrics['codes'])} codes{no_code}).")
    _warn_if_thin(metrics.get("counts", {}))
    if metrics.get("definitions"):
        n = metrics["definitions"]
        out.print(f"It also learnt from the codebook's definition{'' if n == 1 else 's'} of {n} code{'' if n == 1 else 's'}.")
    if metrics.get("borrowed"):
        out.print(_borrowed_words(metrics["borrowed"], metrics["borrowed_weight"]), markup=False)
    if metrics.get("fine_tuned"):
        out.print(_tuning_words(metrics), markup=False)   # it may name a folder of the user's
    if cv:
        _print_cv(metrics.get("cross_validation", {}))
    if metrics.get("accepted_unread"):
        out.print(f"{metrics['accepted_unread']} of these codings are suggestions accepted above a confidence without "
                  "being read one by one: the classifier learns from them, but the agreement figures leave them out, "
                  "since the classifier agreeing with its own suggestions would flatter it.")
    out.print("Next: [bold]autocode suggest[/] to code the project's uncoded transcripts, or "
              "[bold]autocode suggest FILES[/] for new ones.")


FEW = 5   # coded utterances below which a code is little more than a guess to the classifier


def _warn_if_thin(counts: dict) -> None:
    thin = sorted(c for c, n in counts.items() if c and n < FEW)
    if thin:
        names = ", ".join(thin[:6]) + (f" and {len(thin) - 6} more" if len(thin) > 6 else "")
        warn(f"{len(thin)} code{'s' if len(thin) > 1 else ''} ha{'ve' if len(thin) > 1 else 's'} fewer than {FEW} coded "
             f"utterances ({names}), too few for the classifier to learn {'them' if len(thin) > 1 else 'it'}: "
             f"its suggestions of {'them' if len(thin) > 1 else 'it'} are guesses. Code a few more examples of each, "
             "in more than one transcript, and train again.")


def _borrowed_words(n: int, weight: float) -> str:
    return (f"It also learnt from {n} uncoded utterance{'s' if n != 1 else ''} in the same answers as coded ones, "
            f"each with the codes of its nearest coded neighbour and counting {weight:g} of a coded one. Code them "
            "yourself to replace these guesses (or set 'borrowed_weight' under [classifier] in autocode.toml to 0 "
            "to learn from coded utterances only).")


READING_WORDS = {"general": "the general embedding model alone", "tuned": "the tuned model alone",
                 "both": "both models side by side"}


def _tuning_words(metrics: dict) -> str:
    """What fine-tuning did, and which way of reading the utterances cross-validation kept."""
    from .finetune import LEARNING_RATE

    passes, loss, rate = metrics.get("passes"), metrics.get("tuning_loss"), metrics.get("learning_rate")
    how = [f"{passes} pass{'es' if passes != 1 else ''} over them"] if passes else []
    how += [f"{loss} loss"] if loss else []
    how += [f"learning rate {rate:g}"] if rate and rate != LEARNING_RATE else []   # the default goes unsaid
    how += ["in bfloat16 arithmetic"] if metrics.get("precision") == "bfloat16" else []
    which = f"The model in {metrics['tuned_from']}" if metrics.get("tuned_from") else "The embedding model"
    said = f"{which} was first tuned on these codes" + (f" ({', '.join(how)})" if how else "")
    words = READING_WORDS | ({"both": "the project's embedding model and the tuned one side by side"}
                             if metrics.get("tuned_from") else {})
    scores = metrics.get("readings")
    if not scores:
        reads = "it" if metrics.get("reading", "tuned") == "tuned" else words[metrics["reading"]]
        return said + f"; the classifier reads with {reads}, and the tuned model is kept in the project's fine-tuned/ folder."
    tried = ", ".join(f"{words[n]} {fmt(k, 3)}" for n, k in scores.items())   # close calls: 3 digits
    kept = metrics["reading"]
    if metrics.get("reading_asked"):
        return (f"{said}, each cross-validation fold tuning its own. Kappa in cross-validation reading the utterances "
                f"with {tried}. The classifier reads that way because 'fine_tune_reading' in autocode.toml asks for "
                "it; the tuned model is kept in the project's fine-tuned/ folder.")
    where = ("" if kept == "general" else " The tuned model is kept in the project's fine-tuned/ folder.")
    losses = metrics.get("losses")
    chose = (f" Cross-validation tuned with each loss and kept {loss} (kappa of each loss's best reading: "
             f"{', '.join(f'{n} {fmt(k, 3)}' for n, k in losses.items())})." if losses else "")
    return (f"{said}, each cross-validation fold tuning its own.{chose} Kappa in cross-validation reading the utterances "
            f"with {tried}: the classifier reads with {words[kept]}.{where}")


def _print_cv(cv: dict) -> None:
    from .agreement import kappa_words, trust_words

    if "codes" not in cv:
        return out.print(cv.get("note", ""))
    for level in ("codes", "themes"):
        m = cv[level]
        out.print(f"Cross-validated by document ({cv['folds']} folds), {level}: kappa {fmt(m['cohen_kappa'])} "
                  f"({kappa_words(m['cohen_kappa'])}), macro-F1 {fmt(m['macro_f1'])}, agreement {fmt(m['percent_agreement'], 0)}%.")
    out.print(f"In plain words: trained without a transcript, the classifier gave that transcript's utterances "
              f"the coder's own code {fmt(cv['codes']['percent_agreement'], 0)}% of the time "
              f"(their theme {fmt(cv['themes']['percent_agreement'], 0)}%).")
    if advice := trust_words(cv.get("abstention") or {}):
        out.print(advice)
