"""``autocode show``: a transcript or a candidate read in full, with the utterance numbers that
``confirm``, ``import-codings --add`` and the log use. ``cli`` registers it."""
from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.text import Text

from .cli import JsonOpt, ProjectOpt, command, emit_json, out, warn
from .errors import AutocodeError
from .store import Project


@command("show")
def show(document: Annotated[Optional[str], typer.Argument(help="The transcript to read, such as D01.")] = None,
         candidate: Annotated[Optional[int], typer.Option(help="Read every utterance of this candidate instead.")] = None,
         uncoded: Annotated[Optional[str], typer.Option(help="Only the participant utterances this coder has not coded yet.")] = None,
         as_json: JsonOpt = False, project: ProjectOpt = None):
    """Read a transcript (or a candidate) in full, with utterance numbers and everyone's codes."""
    if (document is None) == (candidate is None):
        raise AutocodeError("say what to show: a transcript or --candidate N, not both or neither",
                            "autocode show D01, or autocode show --candidate 3")
    p = Project.find(project)
    if candidate is not None:
        return _candidate(p, candidate, as_json)
    from .corpus import transcript_view

    rows = transcript_view(p.conn, document, uncoded)
    if as_json:
        return emit_json(rows)
    if uncoded:
        _say_if_new(p.conn, uncoded)
    for r in rows:
        _print_utterance(f"#{r['idx']}", r)
    _print_next(document, rows, uncoded)


def _say_if_new(conn, coder: str) -> None:
    """A misspelt name would list everything as uncoded and then suggest coding under it."""
    from .codings import _near, coders

    known = coders(conn)
    if coder not in known:
        near = _near(coder, known)
        warn(f"'{coder}' has no codings in this project yet" + (f": did you mean '{near}'? If so, run this again with "
             f"--uncoded {near}." if near else ", so every participant utterance is listed."))


def _print_utterance(number: str, r: dict) -> None:
    line = Text(f"{number:>5} ", style="bold")
    line.append(f"{r['speaker']}: ", style="dim" if r.get("is_interviewer") else "bold")
    line.append(r["text"], style="dim" if r.get("is_interviewer") else "")
    out.print(line, soft_wrap=True)
    if r.get("codings"):
        out.print(Text("      " + " · ".join(f"{who}: {', '.join(codes)}" for who, codes in r["codings"].items()),
                       style="cyan"), soft_wrap=True)


def _print_next(document: str, rows: list[dict], uncoded: str | None) -> None:
    if uncoded and not rows:
        return out.print(f"{uncoded} has coded every participant utterance of {document}.")
    who = f" --coder {uncoded}" if uncoded else ""
    out.print(f"{len(rows)} utterance(s). To code one: [bold]autocode confirm {document} NUMBER --code CODE{who}[/] "
              "(or --no-code); the review page shows the same transcript (autocode review).")


def _candidate(p: Project, cid: int, as_json: bool) -> None:
    from .webviews import candidate

    view = candidate(p.conn, cid)
    if as_json:
        return emit_json(view["members"])
    card = view["candidate"]
    out.print(Text(f"Candidate {cid}: {card['label']} ({card['status']}), {len(view['members'])} utterances, "
                   "closest to its centre first.", style="bold"))
    for m in view["members"]:
        _print_utterance(f"{m['document']} #{m['idx']}", m)
    out.print("To take an utterance out before accepting, open the candidate on the review page (autocode review); "
              "after accepting, [bold]autocode confirm DOCUMENT NUMBER --code CODE[/] (or --no-code) recodes one.")
