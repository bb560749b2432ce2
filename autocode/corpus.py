"""Adding transcripts to a project, and reading utterances back.

``add_files`` reads and segments every file before it writes anything, then stores them in
one transaction: one bad file means nothing is added.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import progress
from .embed import embed_missing
from .errors import AutocodeError
from .codings import MACHINE
from .ingest import NOT_SPOKEN, Transcript, expand_paths, is_interviewer, read_transcripts
from .segment import split_turns
from .store import Project, default_coder, now


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reflagged: list[str] = field(default_factory=list)   # unchanged, but who is the interviewer changed
    reflagged_codings: int = 0   # people's codings on the utterances now marked as the interviewer's
    withdrawn: int = 0           # the machine's suggestions on them, withdrawn
    utterances: int = 0
    kept_codings: int = 0
    followed_codings: int = 0    # of those, kept on utterances edited lightly (a typo fixed)
    embedded: int = 0            # utterances embedded now (the rest were cached)
    warnings: list[str] = field(default_factory=list)


def read_all(paths: list[str | Path]) -> list[Transcript]:
    files = expand_paths(paths)
    if not files:
        raise AutocodeError("no transcript files found", "name files, or a folder holding .txt, .md, .docx, .vtt, .srt, .csv or .xlsx files",
                            ", ".join(map(str, paths)))
    transcripts, problems = [], []
    for f in files:
        try:
            transcripts.extend(read_transcripts(f))
        except AutocodeError as exc:
            problems.append(exc)
    _refuse_unreadable(problems)
    seen: dict[str, str] = {}
    for t in transcripts:
        if t.id in seen and seen[t.id] != t.source:
            table = any(Path(s).suffix.lower() in (".csv", ".xlsx") for s in (t.source, seen[t.id]))
            raise AutocodeError(
                f"two files give the same document id '{t.id}' ({seen[t.id]} and {t.source})",
                "change the 'document' column in the table" if table else
                "rename one of them: the document id is the file name without its extension",
            )
        seen[t.id] = t.source
    return transcripts


def _refuse_unreadable(problems: list[AutocodeError]) -> None:
    """Every file that cannot be read, in one message, so a folder is fixed in one go."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        listed = "\n".join(f"  {p.where}: {p.problem}. {p.fix[:1].upper()}{p.fix[1:]}." for p in problems)
        raise AutocodeError(f"{len(problems)} files cannot be read, so nothing was added:\n{listed}",
                            "fix or move those files, then add the folder again")


def utterance_rows(t: Transcript, interviewer: tuple[str, ...]) -> list[tuple]:
    """(idx, speaker, is_interviewer, start, end, text, source_id) for one transcript."""
    if t.presegmented:
        spans = [[(turn.start, turn.end)] for turn in t.turns]
    else:
        spans = split_turns(t.text, [(turn.start, turn.end) for turn in t.turns])
    rows = []
    for turn, pieces in zip(t.turns, spans):
        for start, end in pieces:
            rows.append((len(rows), turn.speaker, int(is_interviewer(turn.speaker, interviewer)),
                         start, end, t.text[start:end], turn.source_id))
    return rows


def _unmatched(named: tuple[str, ...], transcripts: list[Transcript]) -> list[str]:
    """``--interviewer`` names no speaker of these files: a typo would leave the questions coded."""
    speakers = {turn.speaker.strip().lower() for t in transcripts for turn in t.turns}
    missing = [n for n in dict.fromkeys(named) if n.strip().lower() not in speakers]
    if not missing or not transcripts:
        return []
    heard = sorted({turn.speaker for t in transcripts for turn in t.turns})
    return [f"no speaker in these files is called {', '.join(repr(m) for m in missing)} (given as the interviewer); "
            f"the speakers are {', '.join(heard[:8])}{' ...' if len(heard) > 8 else ''}. If one of them is the "
            "interviewer, add the files again with --interviewer and that name exactly."]


def _no_interviewer(t: Transcript, rows: list[tuple]) -> str:
    """A conversation where no one was read as the interviewer: their questions would be coded
    as a participant's words. The speaker who asks most is named as the likely one."""
    rows = [r for r in rows if r[1] != NOT_SPOKEN]   # a heading is no one's
    speakers = {r[1] for r in rows}
    if t.presegmented or len(speakers) < 2 or any(r[2] for r in rows):   # tables: survey answers have no interviewer
        return ""
    asked = {s: sum(r[5].rstrip().endswith("?") for r in rows if r[1] == s) / sum(r[1] == s for r in rows)
             for s in speakers}
    likely = max(sorted(asked), key=asked.get)
    guess = (f" {likely} asks most of the questions ({asked[likely]:.0%} of their utterances);" if asked[likely] >= 0.2
             else "")
    advice = "if" if guess else " If"
    return (f"{t.id}: no speaker was read as the interviewer, so every speaker's words will be coded.{guess}{advice} "
            f"someone there is the interviewer, add the file again with --interviewer \"NAME\"")


def add_files(project: Project, paths: list[str | Path], interviewer: tuple[str, ...] = (),
              coder: str | None = None, embed: bool = False, replace: bool = False) -> AddReport:
    """Add (or re-add) transcripts; returns what happened to each document.

    ``embed`` also embeds the participant utterances the project has no embedding of yet,
    in the same transaction, so that ``propose`` finds them ready. Without ``replace``, a new
    version may not lose coding work: a file is refused when it would drop codings, and when it
    comes from another folder and keeps none (more likely another interview with the same file
    name than a corrected version of this one).
    """
    given, interviewer = tuple(interviewer), tuple(interviewer) + tuple(project.setting("ingest", "interviewer"))
    transcripts = read_all(paths)
    prepared = []
    with progress.bar("Reading transcripts", len(transcripts)) as advance:
        for t in transcripts:
            prepared.append((t, utterance_rows(t, interviewer)))
            advance(1)
    report = AddReport(warnings=[w for t in transcripts for w in t.warnings] + _unmatched(given, transcripts)
                       + [w for t, rows in prepared if (w := _no_interviewer(t, rows))])
    with project.transaction() as conn:
        for t, rows in prepared:
            _store(conn, t, rows, report, replace)
        if embed:
            report.embedded = _embed_new(project, conn, prepared, set(report.added + report.replaced))
        if report.added or report.replaced or report.reflagged:  # adding the same files again changes nothing
            project.log("add", coder or default_coder(), added=report.added, replaced=report.replaced,
                        unchanged=report.unchanged, interviewer_changed=report.reflagged)
    return report


def _embed_new(project: Project, conn, prepared: list[tuple], documents: set[str]) -> int:
    """Embed the participant utterances of the new and changed documents (cached ones are skipped)."""
    texts = [r[5] for t, rows in prepared if t.id in documents for r in rows if not r[2]]
    return embed_missing(conn, texts, project.setting("embedding", "model"), project.setting("embedding", "batch_size"))


def _store(conn, t: Transcript, rows: list[tuple], report: AddReport, replace: bool = False) -> None:
    old = conn.execute("SELECT sha256, source FROM documents WHERE id = ?", (t.id,)).fetchone()
    if old and old["sha256"] == t.sha256:
        report.unchanged.append(t.id)
        report.withdrawn += _withdraw_suggestions(conn, t.id, rows)
        if marked := _reflag(conn, t.id, rows, unmark=replace):
            report.reflagged.append(t.id)
            report.reflagged_codings += marked - 1
        return
    if old and not replace and not _same_file(old["source"], t.source) and not _has_codings(conn, t.id):
        _refuse_other_file(t, old["source"])
    saved = _codings_by_text(conn, t.id) if old else []
    before = conn.execute("SELECT text, idx FROM utterances WHERE document = ? ORDER BY idx", (t.id,)).fetchall()
    conn.execute("DELETE FROM documents WHERE id = ?", (t.id,))
    conn.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                 (t.id, str(Path(t.source).resolve()), t.format, t.sha256, t.text, now()))
    conn.executemany(
        "INSERT INTO utterances (document, idx, speaker, is_interviewer, start, end, text, source_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(t.id, *r) for r in rows])
    kept, followed, dropped = _restore_codings(conn, t.id, saved, before)
    human, lost = ([r for r in x if r["coder"] != MACHINE] for x in (saved, dropped))  # suggestions are made again
    same = len({r["text"] for r in before} & {r[5] for r in rows}) / max(1, len(before))
    if human and len(lost) == len(human) and same < 0.5 and not replace:   # another interview, not a new version
        _refuse_replacing(t, human)
    if lost and not replace:
        _refuse_dropping(t, lost)
    report.kept_codings += kept
    report.followed_codings += followed
    (report.replaced if old else report.added).append(t.id)
    report.utterances += len(rows)


def _refuse_replacing(t: Transcript, saved: list) -> None:
    coders = ", ".join(sorted({r["coder"] for r in saved}))
    raise AutocodeError(f"this file would replace transcript '{t.id}', already in the project, and none of its "
                        f"{len(saved)} coding(s) (by {coders}) would survive: it looks like a different interview",
                        f"to add it as a new transcript, {_rename(t)}; "
                        "to replace the old transcript and drop its codings, run the command again with --replace",
                        t.source)


def _withdraw_suggestions(conn, doc: str, rows: list[tuple]) -> int:
    """The machine codes only participants: its suggestions on words now marked as the
    interviewer's would otherwise stay, be accepted in bulk, and be exported."""
    named = sorted({r[1] for r in rows if r[2]}) or [""]
    return conn.execute(f"DELETE FROM codings WHERE coder = ? AND utterance IN (SELECT id FROM utterances WHERE "
                        f"document = ? AND speaker IN ({','.join('?' * len(named))}) AND is_interviewer = 0)",
                        (MACHINE, doc, *named)).rowcount


def _reflag(conn, doc: str, rows: list[tuple], unmark: bool = False) -> int:
    """Mark the interviewer in an unchanged transcript when ``--interviewer`` names them this
    time. Marks are only added (a later add without the option leaves them), unless ``unmark``
    (``--replace``): then the marks are made exactly as this add reads them.
    Returns 0 when nothing changed, else 1 + people's codings on the newly marked utterances
    (which training and agreement now leave out, so the researcher is told)."""
    named = sorted({r[1] for r in rows if r[2]}) or [""]
    marks = ",".join("?" * len(named))
    newly = f"document = ? AND speaker IN ({marks}) AND is_interviewer = 0"
    coded = conn.execute(f"SELECT COUNT(*) FROM codings WHERE coder != ? AND utterance IN "
                         f"(SELECT id FROM utterances WHERE {newly})", (MACHINE, doc, *named)).fetchone()[0]
    changed = conn.execute(f"UPDATE utterances SET is_interviewer = 1 WHERE {newly}", (doc, *named)).rowcount
    if unmark:
        changed += conn.execute(f"UPDATE utterances SET is_interviewer = 0 WHERE document = ? AND is_interviewer = 1"
                                f" AND speaker NOT IN ({marks})", (doc, *named)).rowcount
    return 1 + coded if changed else 0


def _refuse_dropping(t: Transcript, dropped: list) -> None:
    shown = "; ".join(f"'{clip(r['text'], 50)}' ({r['code'] or 'no code'}, by {r['coder']})" for r in dropped[:3])
    more = f"; and {len(dropped) - 3} more" if len(dropped) > 3 else ""
    raise AutocodeError(f"this new version of transcript '{t.id}' would drop {len(dropped)} coding(s), on utterances "
                        f"whose text changed too much to follow: {shown}{more}",
                        "keep a copy of the codings first (autocode export --out codings.csv), then run the command "
                        "again with --replace to add the new version without them; nothing was added", t.source)


def _refuse_other_file(t: Transcript, before: str) -> None:
    raise AutocodeError(f"transcript '{t.id}' was added from another file ({before}), and this one reads differently",
                        f"if it is another interview, {_rename(t)}; "
                        "if it is a new version of the same one, run the command again with --replace", t.source)


def _rename(t: Transcript) -> str:
    """How to give ``t`` an id of its own: a file's name, or a REFI-QDA source's (the id comes from it)."""
    if t.format == "qdpx":
        return (f"rename the source '{t.id}' in your QDA software (such as {t.id}-2) and export the project again "
                "(renaming the .qdpx file does not change it)")
    if t.format in ("csv", "xlsx") and Path(t.source.split('#')[0]).stem != t.id:
        return (f"change '{t.id}' in the table's 'document' column to an id of its own (such as {t.id}-2); "
                "the id comes from that column, so renaming the file does not change it")
    return f"give the file another name (such as {t.id}-2{Path(t.source.split('#')[0]).suffix})"


def _same_file(before: str, now: str) -> bool:
    """Sources are stored resolved; one stored as typed (before 2026-12-07) is resolved here.
    A .qdpx's documents are "ARCHIVE#id"."""
    return before == now or Path(before).resolve() == Path(now).resolve()


def _has_codings(conn, doc: str) -> bool:
    return conn.execute("SELECT 1 FROM codings c JOIN utterances u ON u.id = c.utterance WHERE u.document = ?"
                        " LIMIT 1", (doc,)).fetchone() is not None


def clip(text: str, width: int) -> str:
    """Text for a message, a table cell or a chart label: cut at a word, with an ellipsis, so a
    quote never ends in a half-word that reads as a typo; a first word too long is cut inside."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "\u2026"


CODING = ("code", "coder", "confidence", "reason", "created_at")


def _codings_by_text(conn, doc: str) -> list:
    return conn.execute(
        f"SELECT u.text, u.idx, u.speaker, {', '.join('c.' + k for k in CODING)} FROM codings c"
        " JOIN utterances u ON u.id = c.utterance WHERE u.document = ? ORDER BY u.idx", (doc,)).fetchall()


def _occurrences(rows) -> dict[tuple[str, int], object]:
    """(text, n) -> value for the n-th utterance with that text, so repeated sentences keep their place."""
    seen: dict[str, int] = {}
    out = {}
    for text, value in rows:
        out[(text, seen.get(text, 0))] = value
        seen[text] = seen.get(text, 0) + 1
    return out


def _restore_codings(conn, doc: str, saved: list, before: list) -> tuple[int, int, list]:
    """Re-attach codings to the new version's utterances: where the text is unchanged, or, for
    an utterance edited lightly (a typo fixed), to the one that reads nearly the same.
    ``before`` is the old version's (text, idx) of every utterance. Returns (codings kept, of
    which on edited utterances, codings dropped)."""
    rows = conn.execute("SELECT text, id, idx, speaker FROM utterances WHERE document = ? ORDER BY idx", (doc,)).fetchall()
    new = _occurrences((r["text"], r["id"]) for r in rows)
    unchanged = {idx: new[key] for key, idx in _occurrences((r["text"], r["idx"]) for r in before).items() if key in new}
    edited = _edited({s["idx"]: s for s in saved if s["idx"] not in unchanged}, unchanged, rows)
    target = unchanged | edited
    done = conn.total_changes
    conn.executemany("INSERT OR IGNORE INTO codings (utterance, code, coder, confidence, reason, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", [(target[s["idx"]], *(s[k] for k in CODING)) for s in saved if s["idx"] in target])
    followed = sum(1 for s in saved if s["idx"] in edited)
    return conn.total_changes - done, followed, [s for s in saved if s["idx"] not in target]


FOLLOW_RATIO = 0.8    # how alike an edited utterance must read to keep its codings
FOLLOW_CHARS = 20     # shorter ones ("Yes.", "No, never.") change meaning with a word


def _edited(old: dict, unchanged: dict[int, int], rows) -> dict[int, int]:
    """Old utterance idx -> the id of the new utterance it became by a light edit: the same
    speaker's, between the same unchanged neighbours, reading at least FOLLOW_RATIO alike."""
    from difflib import SequenceMatcher

    position = {r["id"]: r["idx"] for r in rows}
    anchors = sorted((idx, position[uid]) for idx, uid in unchanged.items())
    taken, out = set(unchanged.values()), {}
    for idx, s in old.items():
        lo = max((n for o, n in anchors if o < idx), default=-1)
        hi = min((n for o, n in anchors if o > idx), default=len(rows))
        best, score = None, FOLLOW_RATIO
        for r in rows[lo + 1:hi]:
            match = SequenceMatcher(None, s["text"], r["text"], autojunk=False)   # autojunk misjudges texts of 200+ characters
            if (r["id"] not in taken and r["speaker"] == s["speaker"] and len(s["text"]) >= FOLLOW_CHARS
                    and match.quick_ratio() >= score and match.ratio() >= score):
                best, score = r["id"], match.ratio()
        if best is not None:
            out[idx] = best
            taken.add(best)
    return out


# -- reading ---------------------------------------------------------------------------------

@dataclass
class Utterance:
    id: int
    document: str
    idx: int
    speaker: str
    start: int
    end: int
    text: str
    is_interviewer: bool = False

    @property
    def participant(self) -> str:
        return f"{self.document}/{self.speaker}"


def utterances(conn, documents: list[str] | None = None, participants_only: bool = True,
               candidate: int | None = None) -> list[Utterance]:
    """Utterances in document order; interviewer turns are left out unless asked for.
    ``candidate`` keeps only the members of that candidate code."""
    sql = "SELECT id, document, idx, speaker, start, end, text, is_interviewer FROM utterances"
    where, args = [], []
    if participants_only:
        where.append("is_interviewer = 0")
    if documents:
        where.append(f"document IN ({','.join('?' * len(documents))})")
        args.extend(documents)
    if candidate is not None:
        where.append("id IN (SELECT utterance FROM candidate_members WHERE candidate = ?)")
        args.append(candidate)
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY document, idx"
    return [Utterance(*r[:7], bool(r[7])) for r in conn.execute(sql, args)]


def participant_numbers(documents: list[str]) -> dict[str, str]:
    """How papers cite participants: D07 -> "7", P12 -> "12". Where any id holds no single
    number, or two would share one (P1 and D1), every id is cited whole, so that one quote bank
    never mixes "(3)" with "(zoom_P01)"."""
    runs = {d: re.findall(r"\d+", d) for d in documents}
    number = {d: str(int(r[0])) for d, r in runs.items() if len(r) == 1}
    if len(number) == len(documents) and len(set(number.values())) == len(number):
        return number
    return {d: d for d in documents}


def summary(conn, documents: list[str] | None = None) -> list[dict]:
    """Each document's speakers and how many utterances each has, and its codings by people:
    what a researcher checks to see that a transcript was read as they meant it."""
    where = f" WHERE d.id IN ({','.join('?' * len(documents))})" if documents else ""
    rows = conn.execute("SELECT d.id, d.format, u.speaker, MAX(u.is_interviewer), COUNT(u.id) FROM documents d "
                        f"LEFT JOIN utterances u ON u.document = d.id{where} GROUP BY d.id, u.speaker "
                        "ORDER BY d.id, MIN(u.idx)", documents or []).fetchall()
    coded = dict(conn.execute("SELECT u.document, COUNT(*) FROM codings c JOIN utterances u ON u.id = c.utterance "
                              "WHERE c.coder != ? GROUP BY u.document", (MACHINE,)).fetchall())
    out: dict[str, dict] = {}
    for doc, fmt, speaker, interviewer, n in rows:
        d = out.setdefault(doc, {"document": doc, "format": fmt, "speakers": [], "utterances": 0, "codings": coded.get(doc, 0)})
        if speaker is not None:
            d["speakers"].append({"speaker": speaker, "interviewer": bool(interviewer), "utterances": n})
            d["utterances"] += n
    return sorted(out.values(), key=lambda d: natural(d["document"]))


def document_ids(conn) -> list[str]:
    return sorted((r[0] for r in conn.execute("SELECT id FROM documents")), key=natural)


def natural(document: str) -> list:
    """Sort key that puts 'Interview 3' before 'Interview 10', as a researcher lists them."""
    return [(0, int(t), "") if t.isdecimal() else (1, 0, t.lower()) for t in re.split(r"(\d+)", document)]


def check_documents(conn, documents: list[str]) -> None:
    from difflib import get_close_matches

    known = set(document_ids(conn))
    unknown = [d for d in documents if d not in known]
    if unknown:
        guess = next((k for k in sorted(known) if k.casefold() == unknown[0].casefold()), None) \
            or next(iter(get_close_matches(unknown[0], sorted(known), n=1, cutoff=0.8)), None)
        raise AutocodeError(
            f"no document called {', '.join(repr(u) for u in unknown)} in this project"
            + (f" (did you mean '{guess}'?)" if guess else ""),
            f"use one of: {', '.join(sorted(known)) or '(none yet: add transcripts with autocode add)'}",
        )


def transcript_view(conn, document: str, uncoded_by: str | None = None) -> list[dict]:
    """A transcript as a researcher reads it to code by hand: each utterance with its number
    (the one confirm, import-codings and the log use) and every coder's codes on it; with
    ``uncoded_by``, only the participant utterances that coder has not coded yet."""
    from . import codebook as cb

    check_documents(conn, [document])
    names = {c.id: c.name for c in cb.load(conn).codes}
    rows = [dict(r) | {"codings": {}} for r in conn.execute(
        "SELECT id, idx, speaker, text, is_interviewer FROM utterances WHERE document = ? ORDER BY idx", (document,))]
    by_id = {r["id"]: r for r in rows}
    for uid, coder, code, confidence in conn.execute(
            "SELECT c.utterance, c.coder, c.code, c.confidence FROM codings c JOIN utterances u ON u.id = c.utterance "
            "WHERE u.document = ? ORDER BY c.coder, c.code", (document,)):
        said = names.get(code, code) if code else "no code"
        by_id[uid]["codings"].setdefault(coder, []).append(
            f"{said} ({confidence:.2f})" if coder == MACHINE and confidence is not None else said)
    if uncoded_by:
        rows = [r for r in rows if not r["is_interviewer"] and uncoded_by not in r["codings"]]
    return rows
