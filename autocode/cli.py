"""The ``autocode`` command line: thin wrappers over the plain functions of each stage.

Each command finds the project, calls one function that returns data, and prints it. An
:class:`AutocodeError` becomes a plain-English message and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from . import codebook as cb
from . import review
from .errors import AutocodeError, and_list
from .store import Project, default_coder, marks, session_coder


class _PlainFlags:
    """Help that shows a flag bare: typer labels it '<bool>', which reads as if it took a value."""
    def get_params(self, ctx):
        params = super().get_params(ctx)
        for p in params:
            if getattr(p, "is_flag", False):
                p.metavar = ""
        return params


class Command(_PlainFlags, typer.core.TyperCommand):
    pass


class Group(_PlainFlags, typer.core.TyperGroup):
    pass


app = typer.Typer(help="First-pass coding of interview transcripts, offline, learning from your coding.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, cls=Group)
codebook_app = typer.Typer(help="Show, import or export the codebook.", invoke_without_command=True, cls=Group)
code_app = typer.Typer(help="Rename or move codes.", no_args_is_help=True, cls=Group)
theme_app = typer.Typer(help="Create or rename themes.", no_args_is_help=True, cls=Group)
app.add_typer(codebook_app, name="codebook")
app.add_typer(code_app, name="code")
app.add_typer(theme_app, name="theme")

out = Console(soft_wrap=False)
err = Console(stderr=True)

ProjectOpt = Annotated[Optional[Path], typer.Option("--project", "-p", help="Project folder (default: the one you are in).")]
CoderOpt = Annotated[Optional[str], typer.Option("--coder", help="Your name as a coder: the decision is logged, and any codings it makes are stored, under it (default: AUTOCODE_CODER if set, else your login name).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ClusterOpt = Annotated[Optional[str], typer.Option(
    "--cluster", help="Run the embedding (and scoring) on a Dask cluster: its scheduler address, or 'local'.")]


@app.callback()
def options(quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False):
    """First-pass coding of interview transcripts, offline, learning from your coding."""
    from . import progress

    progress.enable(not quiet)


def say_error(message: str) -> None:
    """Print an error; the message is plain text, so brackets in file names or codes survive."""
    err.print(Text.assemble(("Error: ", "bold red"), message), highlight=False)


def warn(message: str) -> None:
    err.print(Text.assemble(("Warning: ", "yellow"), message), highlight=False)


def friendly(func):
    """Turn expected problems into a message and exit code 1, with no traceback."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AutocodeError as exc:
            say_error(exc.message)
            raise typer.Exit(1) from None
        except BrokenPipeError:  # output piped into `head` and the like
            sys.stderr.close()
            raise typer.Exit(0) from None
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            say_error(f"the project database is {'busy: another autocode command or the review page is using it' if busy else f'unreadable ({exc})'}.\n"
                      "What to do: " + ("wait for it to finish, or close the other autocode window, and try again." if busy
                                        else "close other autocode windows using this project and try again; if it "
                                        "goes on, put back a backup copy of the project folder."))
            raise typer.Exit(1) from None
        except sqlite3.DatabaseError as exc:   # not a database, or a malformed one
            say_error(f"the project database, autocode.db, is damaged ({exc}), so autocode cannot read it.\n"
                      "What to do: put back a copy of the project folder from a backup; nothing was changed.")
            raise typer.Exit(1) from None
        except OSError as exc:   # a folder it may not write in, a file where a folder should be
            where = f"{exc.filename}: " if exc.filename else ""
            say_error(f"{where}autocode cannot read or write there ({exc.strerror or exc}).\n"
                      "What to do: choose a folder you can write to (with room left), or check the name.")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("Stopped. Nothing was changed by the interrupted command.")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("AUTOCODE_DEBUG"):
                raise
            say_error(f"autocode hit an unexpected problem: {type(exc).__name__}: {exc}\n"
                      "What to do: nothing was changed. Run again with AUTOCODE_DEBUG=1 set to see details, "
                      "and report it to the autocode developers.")
            raise typer.Exit(2) from None
    return wrapper


def command(*args, target=None, **kwargs):
    return lambda f: (target or app).command(*args, cls=Command, **kwargs)(friendly(f))


def ids(text: str | None) -> list[str] | None:
    """A comma-separated option ('D01, D02') as a list; None when not given."""
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def emit_json(data) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def known_coders(conn) -> list[str]:
    from .codings import coders

    return coders(conn)


def warn_if_new_coder(conn, who: str, known: list[str], fix: str = "autocode undo") -> None:
    """A coder name new to the project and close to a known one ('Jane' beside 'jane') is most
    likely a typo, and its codings would be a second coder's that training never sees."""
    from .codings import _near

    near = "" if who in known else _near(who, known)
    if near:
        warn(f"'{who}' is a new coder in this project: did you mean '{near}'? If so: {fix}, then run the command "
             f"again with --coder {near}.")


# -- project ---------------------------------------------------------------------------------

@command()
def init(directory: Annotated[Path, typer.Argument(help="Folder for the new project.")],
         codebook: Annotated[Optional[Path], typer.Option(help="A codebook to start from: .yaml, or a REFI-QDA .qdc.")] = None,
         model: Annotated[Optional[str], typer.Option(help="Sentence-transformers model name or folder.")] = None,
         coder: CoderOpt = None):
    """Create a project folder with settings and a database."""
    from .embed import check_model
    from .refi_import import read_qdc

    if codebook and codebook.suffix.lower() == ".qdpx":
        raise AutocodeError("is a REFI-QDA project, not a codebook", f"create the project without --codebook, then: "
                            f"autocode add {codebook}", str(codebook))
    # the codebook and the model are checked before anything is created
    book = (read_qdc(codebook).codebook if codebook.suffix.lower() == ".qdc" else cb.load_yaml(codebook)) if codebook else None
    if model:
        check_model(model)
    project = Project.create(directory, {"embedding": {"model": model}} if model else None)
    if book:
        with project.transaction() as conn:
            counts = cb.store(conn, book)
            project.log("import-codebook", coder or default_coder(), file=str(codebook), **counts)
    out.print(f"Created an autocode project in [bold]{project.root}[/]."
              + (f" Codebook: {len(book.themes)} themes, {len(book.codes)} codes." if book else ""))
    out.print(f"Next: cd {directory} and add transcripts with [bold]autocode add FILES[/].")
    who = coder or default_coder()
    if not session_coder():
        out.print(f"Your decisions and codings will be kept under the name '{who}' (your login name). To code under "
                  "another name, such as alice, run this once in each terminal before you start: "
                  "[bold]export AUTOCODE_CODER=alice[/] (Windows: set AUTOCODE_CODER=alice).")


@command()
def add(files: Annotated[list[Path], typer.Argument(help="Transcript files or folders.")],
        interviewer: Annotated[Optional[list[str]], typer.Option(help="Another speaker label to treat as the interviewer.")] = None,
        replace: Annotated[bool, typer.Option("--replace", help="Replace a transcript of the same name even when some of its codings would not survive, or it came from another file.")] = False,
        replace_codings: Annotated[bool, typer.Option("--replace-codings", help="For a .qdpx: let its codings replace a coder's even when most of theirs are gone (deleted in the QDA software).")] = False,
        cluster: ClusterOpt = None, project: ProjectOpt = None, coder: CoderOpt = None):
    """Add transcripts (.txt, .md, .docx, .vtt, .srt, .csv, .xlsx) or REFI-QDA projects (.qdpx)."""
    from .cli_add import print_qdpx_import, speakers_line
    from .corpus import add_files, summary
    from .distributed import using
    from .ingest import unreadable_in
    from .learn import trained_coder
    from .refi_import import import_qdpx

    p = Project.find(project)
    projects = [f for f in files if f.suffix.lower() == ".qdpx"]
    others = [f for f in files if f not in projects]
    with using(cluster), p.transaction():  # transcripts and .qdpx projects are added together, or not at all
        imported = [(f, import_qdpx(p, f, coder, tuple(interviewer or ()), replace, replace_codings)) for f in projects]
        report = add_files(p, others, tuple(interviewer or ()), coder, embed=True, replace=replace) if others else None
    for f, r in imported:
        print_qdpx_import(f, r)
    if report is None:
        return out.print("Next: [bold]autocode propose[/] to find candidate codes, or [bold]autocode train --coder "
                         "NAME[/] to learn from a coder's codings.")

    for warning in report.warnings:
        warn(warning)
    skipped = unreadable_in(others)
    if skipped:
        names = ", ".join(f.name for f in skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warn(f"skipped {len(skipped)} file(s) autocode cannot read ({names}): it reads .txt, .md, .docx, .vtt, .srt, "
             ".csv, .xlsx and .qdpx. Save a transcript in one of those formats to add it.")
    out.print(f"Added {len(report.added)} document(s), replaced {len(report.replaced)}, "
              f"{len(report.unchanged)} unchanged; {report.utterances} utterances stored.")
    if report.reflagged:
        withdrawn = f" and withdrew the machine's {report.withdrawn} suggestion(s) on their words" if report.withdrawn else ""
        out.print(f"Marked the interviewer anew in {len(report.reflagged)} unchanged document(s): "
                  f"{', '.join(report.reflagged)}{withdrawn}.")
    if report.reflagged_codings:
        warn(f"{report.reflagged_codings} coding(s) by people are on utterances now marked as the interviewer's, which "
             "training and agreement leave out. If that speaker is not the interviewer, add the file again with "
             "--replace, leaving their name out of --interviewer and out of [ingest] in autocode.toml.")
    changed = report.added + report.replaced + report.reflagged
    if 0 < len(changed) <= 10:   # enough to see at a glance that each was read as meant
        for d in summary(p.conn, changed):
            out.print(Text(f"  {d['document']}: {speakers_line(d)}"))
    out.print(f"Embedded {report.embedded} participant utterance(s) new to the project.")
    if report.replaced:
        edited = f", {report.followed_codings} of them on utterances you edited lightly" if report.followed_codings else ""
        out.print(f"Kept {report.kept_codings} coding(s) in the new versions{edited}.")
    if trained_coder(p.conn) and report.added:   # mid-study: the classifier can code the new transcripts
        out.print(f"Next: [bold]autocode suggest --documents {','.join(report.added)}[/] to have the classifier code "
                  "them, or [bold]autocode propose[/] to look for candidate codes the codebook lacks.")
    else:
        out.print("Next: [bold]autocode propose[/] to find candidate codes.")


@command()
def documents(as_json: JsonOpt = False, project: ProjectOpt = None):
    """List the transcripts: who speaks in each, how many utterances, and how many codings by people."""
    from .cli_add import speakers_line
    from .corpus import summary

    rows = summary(Project.find(project).conn)
    if as_json:
        return emit_json(rows)
    if not rows:
        return out.print("No transcripts yet. Next: [bold]autocode add FILES[/].")
    table = Table("document", "format", "speakers (utterances)", "codings", title=f"{len(rows)} transcript(s)")
    for d in rows:
        table.add_row(Text(d["document"]), d["format"], Text(speakers_line(d)), str(d["codings"]))
    out.print(table)
    out.print("A speaker marked (not coded) is left out of coding: the interviewer, and '(not spoken)' lines such as "
              "a heading or a transcriber's note. If the interviewer is not marked, add the "
              "file again with --interviewer NAME; to mark them in every file you add later, list the name under "
              "'interviewer' in the \\[ingest] part of autocode.toml.")


# -- candidates --------------------------------------------------------------------------------

from . import cli_show  # noqa: E402,F401  (registers 'show', listed after 'documents')


@command()
def status(as_json: JsonOpt = False, project: ProjectOpt = None):
    """Where the project stands: transcripts, codebook, coders, classifier, suggestions, and what to do next."""
    from .agreement import kappa_words
    from .status import project_status
    from .undo import local_time

    p = Project.find(project)
    s = project_status(p)
    if as_json:
        return emit_json(s)
    clf, coders = s["classifier"], s["coders"]
    lines = [f"Project: {p.root}",
             f"Transcripts: {s['transcripts']} ({plural(s['participant_utterances'], 'participant utterance')})",
             f"Codebook: {plural(s['themes'], 'theme')}, {plural(s['codes'], 'code')}"
             + (f"; {s['open_candidates']} candidate codes open" if s["open_candidates"] else ""),
             "Coders: " + (", ".join(f"{who} {plural(n, 'utterance')}" for who, n in coders.items()) or "nobody yet")]
    if clf:
        cv = f", theme kappa {clf['theme_kappa']:.2f} in cross-validation ({kappa_words(clf['theme_kappa'])})" \
            if clf["theme_kappa"] is not None else ""
        since = f"; {clf['coder']} has made {plural(clf['codings_since'], 'coding')} since" if clf["codings_since"] else ""
        lines.append(f"Classifier: learnt from {clf['coder']} on {local_time(clf['trained'])}{cv}{since}")
        lines.append(f"Suggestions: {s['undecided']} waiting for {clf['coder']}'s verdict"
                     + (f"; none yet for {and_list(s['unsuggested'], most=5)}" if s["unsuggested"] else ""))
    else:
        lines.append("Classifier: not trained yet")
    if team := s["double_coding"]:
        lines.append(double_coding_line(team))
    for line in lines:
        out.print(Text(line))
    command, why = s["next"]
    out.print(Text.assemble(("Next: ", "bold"), (command, "bold"), f" ({why})."))


@command("remove")
def remove(documents: Annotated[list[str], typer.Argument(help="The transcripts' document ids (see autocode documents).")],
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask before removing.")] = False,
           project: ProjectOpt = None, coder: CoderOpt = None):
    """Remove transcripts and everything drawn from their words, as when a participant withdraws (not undoable)."""
    from .withdraw import removal_plan, remove_documents

    p = Project.find(project)
    plan = removal_plan(p.conn, documents)
    if not yes and not typer.confirm(f"Remove {and_list(plan['documents'])}: {plural(plan['utterances'], 'utterance')}"
                                     f"{_codings_words(plan['codings'])}? This cannot be undone", default=False):
        return out.print("Nothing was removed.")
    r = remove_documents(p, documents, coder)
    out.print(Text(f"Removed {and_list(r['documents'])}: {plural(r['utterances'], 'utterance')}{_codings_words(r['codings'])}, "
                   f"{plural(r['embeddings'], 'cached embedding')} and {plural(r['quotes'], 'quote')} in the classifier's "
                   "examples and reasons went with them."))
    if r["classifiers"]:
        warn(f"{plural(r['classifiers'], 'classifier')} had learnt from their codings and went with them: run "
             "'autocode train --coder NAME' to make a new one before suggesting.")
    if not r["compacted"]:
        warn("another program has the project open (a review page?): the words are deleted, and the database file "
             "is rewritten without them once it closes. Close it, then run any autocode command on the project.")
    out.print("Files exported before (CSV, Excel, Word, REFI-QDA, reports) still hold them: delete or re-export those.")


def _codings_words(coders: dict[str, int]) -> str:
    if not coders:
        return ""
    return " and their codings (" + ", ".join(f"{who} {n}" for who, n in coders.items()) + ")"


@command()
def propose(seed: Annotated[Optional[int], typer.Option(help="Random seed (same seed, same candidates).")] = None,
            min_cluster_size: Annotated[Optional[int], typer.Option(help="Smallest group to report (default: 1/150 of the utterances clustered, at least 5).")] = None,
            model: Annotated[Optional[str], typer.Option(help="Embedding model name or folder for this run.")] = None,
            project: ProjectOpt = None, coder: CoderOpt = None):
    """Group participant utterances into candidate codes."""
    from .cluster import decided_members, propose as run
    from .progress import step

    p = Project.find(project)
    with step("Finding candidate codes"):
        found = run(p, seed, min_cluster_size, model, coder)
    last = json.loads(p.conn.execute("SELECT details FROM decisions WHERE action = 'propose' ORDER BY id DESC").fetchone()[0])
    decided = len(decided_members(p.conn))
    reused = last.get("reused")
    out.print(f"Found {len(found)} candidate codes covering {sum(c.size for c in found)} utterances"
              + (": the open candidates are kept, with their numbers, since the transcripts and settings are as "
                 "they were (another --seed clusters again)" if reused else "")
              + (f". The {decided} utterances in candidates you accepted, merged or rejected were left out, so "
                 "nothing you decided is offered again" if decided and not reused else "") + ".")
    out.print("Next: [bold]autocode candidates[/] to review them, then accept, merge or reject.")


@command()
def candidates(all_: Annotated[bool, typer.Option("--all", help="Include decided candidates.")] = False,
               as_json: JsonOpt = False, project: ProjectOpt = None):
    """List candidate codes with keywords and example quotes."""
    from .cluster import close_code, list_candidates
    from .corpus import clip

    conn = Project.find(project).conn
    rows = list_candidates(conn, None if all_ else "open")
    if as_json:
        return emit_json(rows)
    if not rows:
        decided = conn.execute("SELECT COUNT(*) FROM candidates").fetchone()[0]
        return out.print(f"No open candidates: all {decided} have been decided (--all lists them)." if decided else
                         "No candidates yet. Run [bold]autocode propose[/] first.")
    table = Table("id", "label", "size", "docs", "people", "closest code" if not all_ else "decided", "example quotes",
                  show_lines=True)
    for r in rows:
        quotes = "\n".join(f"\u201c{clip(e['text'], 110)}\u201d ({e['document']})" for e in r["examples"][:3])
        status = r["status"] + (f": {r['code']}" if r.get("code") else "")   # accepted: credibility
        table.add_row(str(r["id"]), Text.assemble(r["label"], "\n", (", ".join(r["keywords"][:6]), "dim")), str(r["size"]),
                      str(r["n_documents"]), str(r["n_participants"]), Text(status if all_ else close_code(r) or "(none close)"),
                      Text(quotes))
    out.print(table)
    out.print('Next: autocode accept ID --theme THEME --name "Code name", autocode merge ID ID ..., or autocode reject ID.')


ThemeOpt = Annotated[str, typer.Option("--theme", "-t", help="Theme id or name the code belongs to.")]
CandidateArg = Annotated[int, typer.Argument(help="The candidate's number, as 'autocode candidates' lists it.")]
DefinitionOpt = Annotated[str, typer.Option(help="What the code means, in a sentence: the classifier learns from it too.")]


@command()
def accept(candidate: CandidateArg, theme: ThemeOpt = "", name: Annotated[Optional[str], typer.Option(help="Code name (default: the candidate's label).")] = None,
           definition: DefinitionOpt = "", code: Annotated[Optional[str], typer.Option(help="Code id, or an existing code to add these utterances to.")] = None,
           project: ProjectOpt = None, coder: CoderOpt = None):
    """Accept a candidate as a code; its utterances become your codings."""
    p = Project.find(project)
    known = known_coders(p.conn)
    result = review.accept(p, candidate, theme, name, definition, code, coder)
    warn_if_new_coder(p.conn, coder or default_coder(), known)
    home = _theme_name(p, result["theme"])
    if result.get("existing"):
        total = p.conn.execute("SELECT COUNT(DISTINCT utterance) FROM codings WHERE code = ? AND coder = ?",
                               (result["code"], coder or default_coder())).fetchone()[0]
        out.print(f"Added candidate {candidate}'s {result['codings']} utterances to the existing code '{result['name']}' "
                  f"({result['code']}, theme '{home}'), which now codes {total}.")
    else:
        out.print(f"Candidate {candidate} is now code '{result['name']}' ({result['code']}) under theme "
                  f"'{home}', with {result['codings']} coded utterances.")
    _say_what_accepting_added(result)


def _theme_name(p: Project, theme_id: str) -> str:
    from .undo import _name_of

    return _name_of(p.conn, "theme", theme_id)


def _say_what_accepting_added(result: dict) -> None:
    """What an accept or merge into an existing code did beyond the obvious."""
    if result.get("theme_not_used"):
        warn(f"the code '{result['name']}' already exists under theme '{result['theme']}', so --theme "
             f"{result['theme_not_used']} was not used. To move the code: autocode code move {result['code']} "
             f"{result['theme_not_used']}")
    if result.get("also_coded"):
        out.print(f"{result['also_coded']} of these utterances already had another of your codes; they now carry both.")
    if result.get("was_no_code"):
        out.print(f"{result['was_no_code']} of these utterances you had coded 'no code': they now carry this code "
                  "instead ('autocode undo' puts both back as they were).")


@command()
def merge(candidate_ids: Annotated[list[int], typer.Argument(help="Candidates to merge.")], theme: ThemeOpt = "",
          name: Annotated[Optional[str], typer.Option(help="Name of the merged code.")] = None, definition: DefinitionOpt = "",
          code: Annotated[Optional[str], typer.Option(help="Code id, or an existing code.")] = None,
          project: ProjectOpt = None, coder: CoderOpt = None):
    """Merge several candidates into one code."""
    if len(set(candidate_ids)) < 2:
        raise AutocodeError("merge needs two or more candidates", f"to make one candidate a code: autocode accept "
                            f"{candidate_ids[0]} --theme THEME")
    p = Project.find(project)
    known = known_coders(p.conn)
    result = review.merge(p, candidate_ids, theme, name, definition, code, coder)
    warn_if_new_coder(p.conn, coder or default_coder(), known)
    out.print(f"Merged {len(set(candidate_ids))} candidates into code '{result['name']}' ({result['code']}) under "
              f"theme '{_theme_name(p, result['theme'])}', {result['codings']} coded utterances.")
    _say_what_accepting_added(result)


@command()
def reject(candidate_ids: Annotated[list[int], typer.Argument(help="Candidates that are not codes.")],
           reason: Annotated[str, typer.Option(help="Why, for the decision log.")] = "", project: ProjectOpt = None, coder: CoderOpt = None):
    """Reject candidates that are not codes."""
    n = review.reject(Project.find(project), candidate_ids, coder, reason)
    out.print(f"Rejected {n} candidate(s).")


@command()
def reopen(candidate_ids: Annotated[list[int], typer.Argument(help="Rejected candidates to put back among the open ones.")],
           project: ProjectOpt = None, coder: CoderOpt = None):
    """Reopen rejected candidates, when undo can no longer reach the rejection."""
    n = review.reopen(Project.find(project), candidate_ids, coder)
    out.print(f"Reopened {n} candidate(s). Next: [bold]autocode candidates[/] to review them again.")


@command()
def split(candidate: CandidateArg, parts: Annotated[int, typer.Option(help="How many sub-candidates to make.")] = 2,
          project: ProjectOpt = None, coder: CoderOpt = None):
    """Split a candidate that mixes ideas: its utterances are re-clustered into sub-candidates."""
    new = review.split(Project.find(project), candidate, parts, coder)
    out.print(f"Split candidate {candidate} into candidates {', '.join(map(str, new))}; "
              "see them with 'autocode candidates'.")


@command()
def undo(project: ProjectOpt = None, coder: CoderOpt = None):
    """Undo the latest review decision (made here or in the browser review)."""
    from . import undo as history

    result = history.undo(Project.find(project), coder)
    out.print(f"Undone: {result['what']}{_whose(result, coder)}. 'autocode redo' makes it again.")


def _whose(result: dict, coder: str | None) -> str:
    """Whose decision an undo or redo reached, where it was not the person's own (a team shares undo)."""
    by = result.get("by")
    return f" ({by}'s decision)" if by and by != (coder or default_coder()) else ""


@command()
def redo(project: ProjectOpt = None, coder: CoderOpt = None):
    """Make again the decision 'autocode undo' took back."""
    from . import undo as history

    result = history.redo(Project.find(project), coder)
    out.print(f"Redone: {result['what']}{_whose(result, coder)}.")


@command("review")
def review_(port: Annotated[int, typer.Option(help="Port on 127.0.0.1 to serve the review page on.")] = 8765,
            no_browser: Annotated[bool, typer.Option("--no-browser", help="Do not open a browser window.")] = False,
            project: ProjectOpt = None, coder: CoderOpt = None):
    """Review candidates, the codebook and suggestions in your browser (this computer only)."""
    from .web import serve

    if not 1024 <= port <= 65535:
        raise AutocodeError(f"--port must be between 1024 and 65535, not {port}", "choose a port such as 8765")
    serve(Project.find(project).root, port, coder, open_browser=not no_browser)


# -- codebook ----------------------------------------------------------------------------------

@codebook_app.callback()
@friendly
def codebook_show(ctx: typer.Context, as_json: JsonOpt = False, project: ProjectOpt = None):
    """Show the codebook as a tree of themes and codes (with coding counts)."""
    if ctx.invoked_subcommand:
        return
    conn = Project.find(project).conn
    from .codings import MACHINE

    book, people, machine = cb.load(conn), cb.utterance_counts(conn), cb.utterance_counts(conn, people=False)
    if as_json:
        return emit_json(book.to_dict())
    if not book.themes:
        return out.print("The codebook is empty. Import one with [bold]autocode codebook import FILE.yaml[/] or accept candidates.")
    tree = Tree("[bold]Codebook[/]")
    for t in book.themes:
        branch = tree.add(Text.assemble((t.name, "bold"), " ", (f"({t.id})", "dim")))
        for c in t.codes:
            n, suggested = people.get(c.id, 0), machine.get(c.id, 0)
            also = f", {suggested} suggested" if suggested else ""
            branch.add(Text.assemble(c.name, " ", (f"({c.id}, {n} utterance{'' if n == 1 else 's'} coded by people{also})", "dim")))
    out.print(tree)


@command("import", target=codebook_app)
def codebook_import(file: Annotated[Path, typer.Argument(help="A codebook .yaml, or a REFI-QDA .qdc from NVivo, ATLAS.ti or MAXQDA.")],
                    project: ProjectOpt = None, coder: CoderOpt = None):
    """Import a codebook into the project's: themes and codes with known ids are updated, new ones added, none removed."""
    from .refi_import import import_qdc

    p = Project.find(project)
    if file.suffix.lower() == ".qdpx":
        raise AutocodeError("is a REFI-QDA project, not a codebook: it holds transcripts and codings too",
                            f"add it with: autocode add {file}", str(file))
    counts = import_qdc(p, file, coder) if file.suffix.lower() == ".qdc" else review.import_codebook(p, file, coder)
    out.print(f"Imported {plural(counts['themes'], 'theme')} and {plural(counts['codes'], 'code')} from {file}.")
    if counts.get("renamed"):
        out.print(f"Renamed, as the file names them: {'; '.join(counts['renamed'])}.")
    if counts.get("changes"):
        out.print(Text(f"Changed, as the file has them: {'; '.join(counts['changes'])}."))
    if counts.get("kept"):
        out.print(f"Kept {len(counts['kept'])} theme(s) and code(s) the file does not mention (autocode never removes "
                  f"them on import): {', '.join(counts['kept'][:8])}{' ...' if len(counts['kept']) > 8 else ''}.")


@command("export", target=codebook_app)
def codebook_export(out_file: Annotated[Optional[Path], typer.Option("--out", help="File to write (default: print).")] = None,
                    project: ProjectOpt = None):
    """Export the codebook as YAML, or as a REFI-QDA .qdc when --out's name ends in .qdc."""
    from .export import write_text
    from .refi import export_qdc

    conn = Project.find(project).conn
    if out_file and out_file.suffix.lower() == ".qdc":
        export_qdc(conn, out_file)
        return out.print(f"Wrote the codebook to {out_file}: in NVivo, ATLAS.ti or MAXQDA, import it as a REFI-QDA codebook.")
    if out_file and out_file.suffix.lower() not in (".yaml", ".yml"):
        raise AutocodeError(f"autocode writes a codebook as .yaml or .qdc, not {out_file.suffix or 'a file without an extension'}",
                            f"name the file {out_file.stem}.yaml (for autocode) or {out_file.stem}.qdc (for NVivo, ATLAS.ti or MAXQDA)",
                            str(out_file))
    text = cb.dump_yaml(cb.load(conn))
    if out_file:
        write_text(out_file, text)
        return out.print(f"Wrote the codebook to {out_file}.")
    print(text, end="")


@command("rename", target=code_app)
def code_rename(code: Annotated[str, typer.Argument(help="The code's id or name.")],
                new_name: Annotated[str, typer.Argument(help="Its new name.")], project: ProjectOpt = None, coder: CoderOpt = None):
    """Rename a code (its id stays the same)."""
    c = review.rename_code(Project.find(project), code, new_name, coder)
    out.print(f"Code {c.id} is now called '{c.name}'.")


@command("move", target=code_app)
def code_move(code: Annotated[str, typer.Argument(help="The code's id or name.")],
              theme: Annotated[str, typer.Argument(help="The theme (id or name) to move it to.")], project: ProjectOpt = None, coder: CoderOpt = None):
    """Move a code to another theme."""
    p = Project.find(project)
    c = review.move_code(p, code, theme, coder)
    out.print(f"Code '{c.name}' is now under theme '{_theme_name(p, c.theme)}' ({c.theme}).")


@command("merge", target=code_app)
def code_merge(codes: Annotated[list[str], typer.Argument(help="The codes (ids or names) to fold in.")],
               into: Annotated[str, typer.Option("--into", help="The code (id or name) to keep.")],
               project: ProjectOpt = None, coder: CoderOpt = None):
    """Merge codes into one: their codings, every coder's, become codings of the code kept."""
    from .recode import merge_codes

    p = Project.find(project)
    r = merge_codes(p, codes, into, coder)
    names = and_list([f"'{c.name}'" for c in r["merged"]])
    twins = f" ({r['duplicates']} more were of utterances that coder had given both, and became one)" if r["duplicates"] else ""
    out.print(Text(f"Merged {names} into '{r['into'].name}': {plural(r['codings'], 'coding')} moved{twins}, and the "
                   "merged code(s) left the codebook. 'autocode undo' takes it back." + _retrain_note(p)))


def _retrain_note(p: Project) -> str:
    trained = p.conn.execute("SELECT 1 FROM classifiers LIMIT 1").fetchone()
    return " The classifier still knows the old codes: run 'autocode train' again before suggesting." if trained else ""


@command("remove", target=code_app)
def code_remove(code: Annotated[str, typer.Argument(help="The code's id or name.")],
                with_codings: Annotated[bool, typer.Option("--with-codings", help="Also remove people's codings of it.")] = False,
                project: ProjectOpt = None, coder: CoderOpt = None):
    """Remove a code from the codebook (one with people's codings only with --with-codings)."""
    from .recode import remove_code

    p = Project.find(project)
    r = remove_code(p, code, with_codings, coder)
    back = (f" Candidate(s) {', '.join(map(str, r['candidates']))}, accepted as it, are now rejected "
            "('autocode reopen' brings them back).") if r["candidates"] else ""
    out.print(Text(f"Removed the code '{r['code'].name}' and {plural(r['codings'], 'coding')} of it.{back} "
                   "'autocode undo' takes it back." + _retrain_note(p)))


@command("remove", target=theme_app)
def theme_remove(theme: Annotated[str, typer.Argument(help="The theme's id or name.")],
                 project: ProjectOpt = None, coder: CoderOpt = None):
    """Remove an empty theme from the codebook."""
    from .recode import remove_theme

    t = remove_theme(Project.find(project), theme, coder)
    out.print(Text(f"Removed the theme '{t.name}'. 'autocode undo' takes it back."))


@command("add", target=theme_app)
def theme_add(name: Annotated[str, typer.Argument(help="The theme's name.")],
              definition: Annotated[str, typer.Option(help="What the theme covers, in a sentence.")] = "",
              theme_id: Annotated[Optional[str], typer.Option("--id", help="A short id (default: made from the name).")] = None,
              project: ProjectOpt = None, coder: CoderOpt = None):
    """Create a theme."""
    t = review.add_theme(Project.find(project), name, definition, theme_id, coder)
    out.print(f"Created theme '{t.name}' ({t.id}).")


@command("rename", target=theme_app)
def theme_rename(theme: Annotated[str, typer.Argument(help="The theme's id or name.")],
                 new_name: Annotated[str, typer.Argument(help="Its new name.")], project: ProjectOpt = None, coder: CoderOpt = None):
    """Rename a theme (its id stays the same)."""
    t = review.rename_theme(Project.find(project), theme, new_name, coder)
    out.print(f"Theme {t.id} is now called '{t.name}'.")


# -- codings, learning, export -----------------------------------------------------------------

@command("import-codings")
def import_codings(files: Annotated[list[Path], typer.Argument(help="CSV files with columns document and code, and start and end (character offsets) or utterance; 'autocode export' writes one.")],
                   coder: Annotated[Optional[str], typer.Option(help="Whose codings these are (default: the file's 'coder' column).")] = None,
                   replace: Annotated[bool, typer.Option("--replace", help="Replace a coder's codings even when the file keeps fewer than half of them.")] = False,
                   add: Annotated[bool, typer.Option("--add", help="Re-code only the utterances the file names (their codings by the coder become the file's); the coder's other codings stay.")] = False,
                   project: ProjectOpt = None):
    """Import coders' codings from CSV files (each replaces that coder's codings of its documents, or with --add of its utterances)."""
    from .cli_add import print_import
    from .codings import import_codings as run

    p = Project.find(project)
    try:
        with p.transaction():   # several files: all of them, or none
            reports = [(f, run(p, f, coder, replace=replace, add=add)) for f in files]
            _refuse_twice_over(reports, add)
    except AutocodeError as e:
        if len(files) < 2:
            raise
        raise AutocodeError(f"{e.problem}; none of the {len(files)} files was imported", e.fix, e.where) from None
    for f, r in reports:
        print_import(r, f"{f.name}: " if len(files) > 1 else "", add, cb.load(p.conn))


@command()
def train(coder: Annotated[Optional[str], typer.Option(help="Learn this coder's codings (default: AUTOCODE_CODER if set, else your login name).")] = None,
          save: Annotated[Optional[Path], typer.Option("--out", help="Also save the model to this .npz file to share.")] = None,
          fine_tune: Annotated[Optional[bool], typer.Option(
              "--fine-tune/--no-fine-tune",
              help="First tune the embedding model on these codes (slower: minutes per thousand utterances; "
                   "default: 'fine_tune' under \\[classifier] in autocode.toml, else off).")] = None,
          cv: Annotated[bool, typer.Option("--cv/--no-cv", help="Cross-validate by document (on by default).")] = True,
          as_json: JsonOpt = False, project: ProjectOpt = None):
    """Train the classifier on a coder's confirmed codings and report cross-validated agreement."""
    from .cli_train import print_training
    from .export import check_writable
    from .learn import idle_tuning_settings, latest_classifier, latest_metrics, train as run

    from .progress import step

    p = Project.find(project)
    if save:
        check_writable(save, (".npz",), "a classifier file")
    before = latest_metrics(p.conn)
    idle = idle_tuning_settings(p, fine_tune)
    if idle:
        one = len(idle) == 1
        warn(f"{', '.join(idle)} under [classifier] in autocode.toml only appl{'ies' if one else 'y'} when "
             f"'train --fine-tune' tunes a model; add --fine-tune (or set fine_tune = true) to use "
             f"{'it' if one else 'them'}, or remove {'that line' if one else 'those lines'} to silence this.")
    from .report import grouped_words

    with step("Training the classifier" + (" and cross-validating it" if cv else "")):
        metrics = run(p, coder or default_coder(), evaluate=cv, fine_tune=fine_tune)
    if before.get("coder") not in (None, metrics["coder"]):   # the review page asks first; say it here at least
        warn(f"this classifier learns from {metrics['coder']}'s {metrics['utterances']} coded utterances; it replaced "
             f"the one that learnt from {before['coder']}'s {before.get('utterances', '')}. To go back: autocode train "
             f"--coder {before['coder']}")
    if save:
        latest_classifier(p.conn)[0].save(save)
    if as_json:
        return emit_json(metrics)
    print_training(metrics, cv)
    if cv and (grouped := grouped_words(p.conn, metrics["coder"])):
        warn(f"{grouped}. The agreement above is then partly the classifier finding the clustering's groups again: "
             "read and correct some of them (autocode show --candidate N, or the review page), or code a transcript "
             "by hand, for a figure that measures agreement with your own reading.")
    if save:
        out.print(f"Saved the classifier to {save}: 'autocode suggest FILES --classifier {save}' uses it in another "
                  "project with the same codebook.", markup=False)


def double_coding_line(t: dict) -> str:
    a, b = t["coders"]
    settled = (f"{t['to_settle']} disagreements to settle into {t['consensus']}" if t["started"] else
               f"{t['to_settle']} disagreements (autocode reconcile {a} {b} settles them into a consensus)")
    alone = "".join(f"; only {who} coded {and_list(docs, most=4)}" for who, docs in t["alone"].items())
    return f"Double coding: {a} and {b} coded {plural(t['transcripts'], 'transcript')} in common, {settled}{alone}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def fmt(value, digits: int = 2) -> str:
    return "undefined" if value is None else f"{value:.{digits}f}"


@command()
def suggest(files: Annotated[Optional[list[Path]], typer.Argument(help="New transcripts to add and code.")] = None,
            documents: Annotated[Optional[str], typer.Option(help="Comma-separated document ids to code.")] = None,
            out_file: Annotated[Optional[Path], typer.Option("--out", help="Write the suggestions to this CSV.")] = None,
            classifier: Annotated[Optional[Path], typer.Option(help="Use this saved classifier .npz instead of the project's.")] = None,
            include_coded: Annotated[bool, typer.Option(help="Also code utterances people coded, to compare with them.")] = False,
            cluster: ClusterOpt = None, project: ProjectOpt = None, coder: CoderOpt = None):
    """Suggest codes for new or uncoded participant utterances."""
    from .classify import ThemeClassifier
    from .cli_suggest import print_speakers, print_suggestions, warn_if_foreign, warn_if_learnt
    from .corpus import add_files, read_all
    from .export import check_writable, write_csv
    from .distributed import using
    from .learn import learnt_from, suggest as run
    from .progress import step

    p = Project.find(project)
    if out_file:
        check_writable(out_file, (".csv",), "a CSV of suggestions")
    docs = ids(documents) or []
    clf = ThemeClassifier.load(classifier) if classifier else None
    if clf is not None:
        warn_if_foreign(p.conn, clf, classifier)
    # adding the files, coding them and writing the CSV succeed or fail together
    added = None
    with using(cluster), p.transaction(), step("Suggesting codes"):
        if files:
            docs += [t.id for t in read_all(files)]
            added = add_files(p, files, coder=coder)
        rows = run(p, docs or None, clf, coder, include_coded)
        if out_file:
            write_csv(out_file, rows)
    if added:
        print_speakers(p.conn, added)
    print_suggestions(rows, out_file, 1 if rows else _participant_utterances(p.conn, docs or None))
    if include_coded and clf is None:
        warn_if_learnt(*learnt_from(p, rows))


def _refuse_twice_over(reports: list, add: bool) -> None:
    """Two files with one coder's codings of one transcript: the second would replace the first's."""
    seen: dict[tuple[str, str], Path] = {}
    for f, r in reports:
        for key in ((who, doc) for who in r.coders for doc in r.documents):
            if key in seen and not add:
                raise AutocodeError(f"{seen[key].name} and {f.name} both hold {key[0]}'s codings of {key[1]}, and the "
                                    "second would replace the first's", "put them in one file, or import the second "
                                    "with --add (it re-codes only the utterances it names)", str(f))
            seen.setdefault(key, f)


def _participant_utterances(conn, documents: list[str] | None) -> int:
    from .corpus import utterances

    return len(utterances(conn, documents))


@command("accept-suggestions")
def accept_suggestions(above: Annotated[float, typer.Option("--above", help="Accept the suggestions with at least this confidence (0 to 1).")],
                       documents: Annotated[Optional[str], typer.Option(help="Comma-separated document ids (default: all).")] = None,
                       project: ProjectOpt = None, coder: CoderOpt = None):
    """Accept, as your codings, the suggestions at or above a confidence that you have not decided yet."""
    from .confirm import accept_above
    from .learn import trained_coder

    docs = ids(documents)
    p = Project.find(project)
    known = known_coders(p.conn)
    r = accept_above(p, above, docs, coder)
    if not r["accepted"]:
        return out.print(f"No undecided suggestion has confidence {above:g} or more. Next: [bold]autocode suggest[/], "
                         "or a lower --above.")
    who = coder or default_coder()
    none = f" ({r['no_code']} of them 'no code')" if r["no_code"] else ""
    out.print(f"Accepted {r['accepted']} suggestion(s) with confidence {above:g} or more{none} as {who}'s codings "
              f"('autocode undo' takes them back; later, 'autocode remove-codings --coder {who} --unread'). They are "
              "marked as accepted unread: training learns from them, but its agreement figures leave them out.")
    warn_if_new_coder(p.conn, who, known)
    teacher = trained_coder(p.conn)
    if teacher and teacher != who:
        warn(f"the classifier learns from {teacher}'s codings, and these are {who}'s, so 'autocode train --coder "
             f"{teacher}' will not learn from them. To make them {teacher}'s: autocode undo, then run this again with "
             f"--coder {teacher}")


@command("confirm")
def confirm_(document: Annotated[str, typer.Argument(help="The transcript, such as D08.")],
             typed: Annotated[list[str], typer.Argument(metavar="number", help="Utterance numbers, as 'autocode next' lists them.")],
             code: Annotated[Optional[str], typer.Option(help="Code them with this code (id or name) instead of the suggestion.")] = None,
             no_code: Annotated[bool, typer.Option("--no-code", help="No code of the codebook applies to them.")] = False,
             project: ProjectOpt = None, coder: CoderOpt = None):
    """Decide on the machine's suggestions one by one: accept them, or give another code or none (--code and --no-code also code utterances without a suggestion)."""
    from .confirm import code_name, decide, suggestion_at

    if code and no_code:
        raise AutocodeError("--code and --no-code say opposite things", "give one of them, or neither to accept the suggestion")
    wrong = [t for t in typed if not t.strip().lstrip("#").isdecimal()]
    if wrong:
        raise AutocodeError(f"'{wrong[0]}' is not an utterance number", f"give the numbers 'autocode next' or the "
                            f"review page lists, such as: autocode confirm {document} 12 15")
    numbers = [int(t.strip().lstrip("#")) for t in typed]
    p = Project.find(project)
    own = bool(code or no_code)   # a code of the coder's own needs no suggestion to decide on
    chosen = [suggestion_at(p.conn, document, n, needed=not own) for n in numbers]   # all checked before any decision
    if code:
        review._code(p.conn, code)
    who, known = coder or default_coder(), known_coders(p.conn)
    for n, uid in zip(numbers, chosen):
        r = decide(p, uid, code, no_code, who)
        verdict = ("accepted" if r["code"] == r["suggested"] else "coded") + f" '{code_name(p.conn, r['code'])}'"
        was = "no suggestion" if r["suggested"] is None else f"suggested: '{code_name(p.conn, r['suggested'])}'"
        out.print(Text(f"{document} #{n}: {verdict} ({was})."))
    out.print(f"These are now {who}'s codings, each an undoable decision ('autocode undo'). When you have confirmed "
              f"a batch: [bold]autocode train --coder {who}[/], then [bold]autocode next[/].")
    warn_if_new_coder(p.conn, who, known, f"autocode remove-codings --coder {who}")


@command("remove-codings")
def remove_codings(coder: Annotated[str, typer.Option("--coder", help="Whose codings to remove.")],
                   unread: Annotated[bool, typer.Option("--unread", help="Only the suggestions they accepted unread (accept-suggestions).")] = False,
                   documents: Annotated[Optional[str], typer.Option(help="Comma-separated document ids (default: all).")] = None,
                   project: ProjectOpt = None):
    """Remove a coder's codings, such as those imported under a mistyped name ('autocode undo' takes it back)."""
    from .confirm import remove_codings as run

    docs = ids(documents)
    r = run(Project.find(project), coder, docs, unread)
    what = "suggestion(s) accepted unread" if unread else "coding(s)"
    out.print(f"Removed {r['removed']} {what} by {coder} from {r['utterances']} utterance(s)"
              f"{' of ' + ', '.join(docs) if docs else ''}. 'autocode undo' puts them back.")


@command("next")
def next_(n: Annotated[int, typer.Option("--n", help="How many utterances to list.")] = 20,
          documents: Annotated[Optional[str], typer.Option(help="Comma-separated document ids (default: all).")] = None,
          as_json: JsonOpt = False, project: ProjectOpt = None):
    """List the uncoded utterances to confirm next: those the classifier is least sure about."""
    from .corpus import clip
    from .learn import next_to_confirm, trained_coder

    p = Project.find(project)
    docs = ids(documents)
    rows = next_to_confirm(p, n, docs)
    if as_json:
        return emit_json(rows)
    if not rows:
        return out.print("Nothing to confirm: the coder the classifier learnt from has coded every participant "
                         "utterance there. Add transcripts, or train on another coder's codings.")
    table = Table("document", "#", "suggested code", "conf.", "margin", "text",
                  title="Least sure first: the smaller the margin between the two likeliest themes, the closer the call")
    for r in rows:
        table.add_row(Text(r["document"]), str(r["utterance"]), Text(r.get("code name") or r["code"] or "(no code)"),
                      f"{r['confidence']:.2f}", f"{1 - r['uncertainty']:.3f}", Text(clip(r["text"], 400)))
    out.print(table)
    teacher = trained_coder(p.conn)
    first, stale = rows[0], _not_stored(p.conn, rows)
    steps = [f"[bold]autocode suggest --documents {','.join(stale)}[/] first: it stores the suggestions shown "
             "above, so that confirm can accept them"] if stale else []
    steps += [f"[bold]autocode confirm {first['document']} {first['utterance']} --coder {teacher}[/] accepts a "
              "suggestion; add --code CODE to give another code, or --no-code for none (or decide on the review "
              "page: autocode review)",
              f"[bold]autocode train --coder {teacher}[/] once these are coded: they teach the classifier most"]
    out.print(f"Code these first, as {teacher}:")
    for i, step in enumerate(steps, 1):
        out.print(f"  {i}. {step}.")


def _not_stored(conn, rows: list[dict]) -> list[str]:
    """Documents where a listed suggestion is not the one stored (never suggested, or since
    retrained): 'confirm' decides on the stored one."""
    from .codings import MACHINE

    docs = sorted({r["document"] for r in rows})
    stored = {tuple(r) for r in conn.execute(
        "SELECT u.document, u.idx, c.code FROM codings c JOIN utterances u ON u.id = c.utterance "
        f"WHERE c.coder = ? AND u.document IN ({marks(docs)})", (MACHINE, *docs))}
    return sorted({r["document"] for r in rows if (r["document"], r["utterance"], r["code"]) not in stored})


EXPORTS = {"csv": "codings.csv", "xlsx": "codings.xlsx", "docx": "quotes.docx", "qdpx": "project.qdpx", "qdc": "codebook.qdc"}


@command()
def export(format: Annotated[Optional[str], typer.Option("--format", "-f", help="csv, xlsx, docx (quote bank), qdpx or qdc (REFI-QDA); default: what --out's name ends in, else csv.")] = None,
           coder: Annotated[Optional[str], typer.Option(help="Only this coder's codings (csv, xlsx, docx, qdpx).")] = None,
           out_file: Annotated[Optional[Path], typer.Option("--out", help="File to write (default: by format).")] = None,
           project: ProjectOpt = None):
    """Export codings: CSV (what import-codings reads), Excel, a Word quote bank, or REFI-QDA for NVivo, ATLAS.ti, MAXQDA."""
    from . import export as ex
    from . import refi

    from .codings import require_coder

    fmt = export_format(format, out_file)
    if fmt == "qdc" and coder:
        raise AutocodeError("a .qdc holds the codebook only, the same for every coder, so --coder has nothing to "
                            "choose", "leave out --coder, or export --format qdpx --coder NAME for their codings")
    p = Project.find(project)
    if coder:
        require_coder(p.conn, coder)
    target = out_file or Path(EXPORTS[fmt])
    if out_file is None and target.exists():
        raise AutocodeError(f"{target} exists already (perhaps a copy you edited), and export without --out would "
                            "write over it", f"name the file: autocode export --out NEW{target.suffix} (an --out you "
                            "name is written over)", str(target.resolve()))
    # the CSV and .qdpx hold the machine's suggestions and the others leave them out: either way, a word
    suggested = 0 if coder else p.conn.execute("SELECT COUNT(*) FROM codings WHERE coder = ?", (ex.MACHINE,)).fetchone()[0]
    if fmt == "qdc":
        refi.export_qdc(p.conn, target)
        return out.print(f"Wrote {target}: in NVivo, ATLAS.ti or MAXQDA, import it as a REFI-QDA codebook.")
    if fmt == "qdpx":
        refi.export_qdpx(p.conn, target, p.root.name, coder)
        also = (f" It holds the machine's {suggested} suggestions as user 'machine' (--coder NAME exports "
                "one coder's codings only); REFI-QDA has no place for their confidences and reasons, which stay "
                "in the project and its CSV export." if suggested else "")
        return out.print(f"Wrote {target}: open it in NVivo, ATLAS.ti or MAXQDA as a REFI-QDA project.{also}")
    if fmt == "csv":
        n = ex.export_csv(p.conn, target, coder)
        none = p.conn.execute(f"SELECT COUNT(*) FROM codings WHERE code = '' {'AND coder = ?' if coder else ''}",
                              [coder] * bool(coder)).fetchone()[0]
        also = f", the machine's {suggested} suggestions among them (coder 'machine')" if suggested else ""
        return out.print(f"Wrote {n} rows to {target}: {n - none} codings and {none} 'no code' decisions{also}.")
    team = None if coder or fmt != "docx" else next(iter(consensus_of(p.conn)), None)
    (ex.export_xlsx if fmt == "xlsx" else ex.export_docx)(p.conn, target, coder or team)
    left_out = f" It holds people's codings; the {suggested} suggestions are left out (--coder machine exports them)." \
        if suggested and not team else ""
    settled = f" It quotes {team}'s codings, the team's settled coding (--coder NAME for another coder's)." if team else ""
    out.print(f"Wrote {target}.{left_out}{settled}")


def consensus_of(conn) -> list[str]:
    """The project's consensus codings, most codings first: a team reports those by default."""
    from .reconcile import sources

    made = sources(conn)
    counts = dict(conn.execute("SELECT coder, COUNT(*) FROM codings GROUP BY coder").fetchall())
    return sorted((w for w in made if counts.get(w)), key=lambda w: -counts[w])


def export_format(format: str | None, out_file: Path | None) -> str:
    """The format asked for, else the one the file name says; a name that says another format
    is refused, since Excel or NVivo would refuse the file."""
    named = (out_file.suffix.lower().lstrip(".") if out_file else "") or None
    fmt = (format or (named if named in EXPORTS else "csv")).lower()
    if fmt not in EXPORTS:
        raise AutocodeError(f"unknown export format '{format}'", f"use one of: {', '.join(EXPORTS)}")
    if named and named not in EXPORTS and not format:
        raise AutocodeError(f"autocode does not write .{named} files ({out_file.name})",
                            f"name the file with one of: {', '.join('.' + e for e in EXPORTS)} (for Excel: .xlsx)")
    if named in EXPORTS and named != fmt:
        raise AutocodeError(f"--format {fmt} would write {fmt} data into {out_file.name}, whose name says {named}",
                            f"name the file {out_file.stem}.{fmt}, or leave out --format to write {named}")
    return fmt


@command()
def report(out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
           coder: Annotated[Optional[str], typer.Option(help="Whose coding the report describes (default: the team's consensus, else the coder with most codings).")] = None,
           project: ProjectOpt = None):
    """Write a self-contained HTML report: codebook, prevalence, quote bank, agreement, classifier."""
    from .export import check_writable
    from .report import write_report

    from .progress import step

    check_writable(out_file, (".html", ".htm"), "an HTML report")
    from .report import primary_coder

    p = Project.find(project)
    with step("Writing the report (the learning curve and agreement intervals take a little while)"):
        write_report(p, out_file, coder)
    who = coder or primary_coder(p.conn)
    team = " (the team's consensus)" if who in consensus_of(p.conn) else ""
    out.print(f"Wrote {out_file}. Open it in any browser; it needs no internet. It describes {who}'s coding{team}; "
              "--coder NAME describes another coder's.")


from . import cli_agreement, cli_reconcile  # noqa: E402,F401  (register 'compare', then 'reconcile' and 'settle')


@command()
def log(limit: Annotated[int, typer.Option(help="How many recent decisions to show.")] = 50,
        as_json: JsonOpt = False, project: ProjectOpt = None):
    """Show the decision log, newest last."""
    from .undo import details_words, local_time

    conn = Project.find(project).conn
    rows = [dict(r) for r in conn.execute(
        "SELECT * FROM (SELECT * FROM decisions ORDER BY id DESC LIMIT ?) ORDER BY id", (limit,))]
    if as_json:
        return emit_json([{**r, "details": json.loads(r["details"])} for r in rows])
    table = Table("#", "time", "coder", "action", "details")
    for r in rows:
        table.add_row(str(r["id"]), local_time(r["time"]), Text(r["coder"]), r["action"],
                      Text(details_words(json.loads(r["details"]), conn)))
    out.print(table)
    out.print("Times are this computer's; --json gives every detail, times in UTC.")


@command()
def demo(data: Annotated[Optional[Path], typer.Option(help="Demo corpus folder (default: the repo's data/).")] = None,
         keep: Annotated[Optional[Path], typer.Option(help="Keep the demo project in this folder.")] = None):
    """Run the whole flow on the demo corpus and explain each step."""
    from .demo import run_demo

    run_demo(data, keep, say=out.print)


def main() -> None:
    if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
        os.environ["COLUMNS"] = "120"   # piped into a file or a pager: tables 120 wide rather than rich's 80
    app()


if __name__ == "__main__":
    sys.exit(main())
