"""``autocode reconcile`` and ``autocode settle``: a team's consensus coding, from the CLI.
The work is in reconcile.py; ``cli`` keeps the shared options and registers these commands."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli import CoderOpt, ProjectOpt, command, ids, known_coders, out, warn, warn_if_new_coder
from .errors import and_list
from .reconcile import AGREED, CONSENSUS
from .store import Project

IntoOpt = Annotated[str, typer.Option("--into", help="The name the consensus coding is kept under, as a coder's.")]


@command("reconcile")
def reconcile_(coders: Annotated[list[str], typer.Argument(metavar="coder", help="Two or more coders who coded the same transcripts.")],
               sheet: Annotated[Optional[Path], typer.Option(help="Write the utterances to settle to this CSV, for the meeting.")] = None,
               into: IntoOpt = CONSENSUS,
               documents: Annotated[Optional[str], typer.Option(help="Comma-separated document ids (default: all both coded).")] = None,
               project: ProjectOpt = None, coder: CoderOpt = None):
    """Start a consensus coding: what the coders agree on becomes its codings, and what they disagree on is listed to settle."""
    from .export import check_writable, write_csv
    from .reconcile import reconcile, sheet_columns

    if sheet:
        check_writable(sheet, (".csv",), "a CSV sheet")
    p = Project.find(project)
    known = known_coders(p.conn)
    r = reconcile(p, coders, into, ids(documents), coder)
    warn_if_new_coder(p.conn, into, known)
    print_reconciled(r)
    if sheet and r["to_settle"]:
        write_csv(sheet, r["to_settle"], sheet_columns(coders))
    print_next(r, sheet)


def print_reconciled(r: dict) -> None:
    who, docs = and_list(r["coders"]), r["documents"]
    out.print(f"{who} {'both' if len(r['coders']) == 2 else 'all'} coded {len(docs)} transcript{'' if len(docs) == 1 else 's'} ({', '.join(docs[:8])}"
              f"{' ...' if len(docs) > 8 else ''}).")
    if r["agreed"]:
        out.print(f"They agreed on {r['agreed']} utterance(s): those are now {r['into']}'s codings "
                  "('autocode undo' takes them back).")
    if r["already"]:
        out.print(f"{r['already']} utterance(s) {r['into']} had coded already were left as they are.")
    for who, docs in r["alone"].items():
        out.print(f"Only {who} coded {', '.join(docs[:8])}{' ...' if len(docs) > 8 else ''}: the others' codings of "
                  f"{'it' if len(docs) == 1 else 'them'} would let {'it' if len(docs) == 1 else 'them'} be reconciled too.")
    for who, n in r["partly"].items():
        out.print(f"{n} utterance(s) others coded but {who} left uncoded are left out, as compare leaves them out: "
                  f"have {who} code them (autocode show DOCUMENT --uncoded {who} lists them), then reconcile again.")
    if r["unread"]:
        out.print(f"{r['unread']} of the utterances to settle carry suggestions a coder accepted unread: the sheet "
                  "marks them, so that the meeting reads them before they count as agreed.")
    rows = r["to_settle"]
    if not rows:
        return
    table = Table("document", "#", *r["coders"], "text", title=f"{len(rows)} utterance(s) to settle"
                  + (", the first 10" if len(rows) > 10 else ""))
    for row in rows[:10]:
        table.add_row(row["document"], str(row["utterance"]), *(Text(row[w]) for w in r["coders"]), Text(row["text"][:80]))
    out.print(table)


def print_next(r: dict, sheet: Path | None) -> None:
    if not r["to_settle"]:
        if sheet:
            out.print(f"Nothing to settle, so no sheet was written{' (the older ' + str(sheet) + ' is out of date)' if sheet.exists() else ''}.")
        return out.print(f"Nothing left to settle. Next: [bold]autocode train --coder {r['into']}[/] learns the "
                         "team's coding, and [bold]autocode compare " + " ".join(r["coders"]) + f" {r['into']}[/] "
                         "shows how far each coder's own coding was from it.")
    if not sheet:
        return out.print(f"Next: write them all to a sheet for the meeting with [bold]--sheet to_settle.csv[/] "
                         f"(with the turns before and after each).")
    out.print(f"Wrote them to {sheet}. In the meeting, fill its '{AGREED}' column: a code's name or id, several "
              f"joined by '+', or 'none'. Then: [bold]autocode settle {sheet}[/] (rows left empty stay open).")


@command("settle")
def settle_(sheet: Annotated[Path, typer.Argument(help="The sheet 'autocode reconcile --sheet' wrote, its 'agreed code' column filled in.")],
            into: IntoOpt = CONSENSUS, project: ProjectOpt = None, coder: CoderOpt = None):
    """Record a consensus meeting's decisions: each row of the sheet with an agreed code becomes a consensus coding."""
    from .reconcile import settle

    p = Project.find(project)
    known = known_coders(p.conn)
    r = settle(p, sheet, into, coder)
    warn_if_new_coder(p.conn, into, known)
    none = f" ({r['no_code']} of them 'no code')" if r["no_code"] else ""
    out.print(f"Settled {r['settled']} utterance(s) as {r['into']}'s codings{none}"
              + ("; 'autocode undo' takes this back." if r["settled"] else "."))
    if r["unchanged"]:
        out.print(f"{r['unchanged']} row(s) were settled that way already and are unchanged.")
    if r["changed"]:
        print_changed(p.conn, r["changed"])
    if r["left"]:
        out.print(f"{r['left']} row(s) were left empty and stay to settle: fill them and run this again, or run "
                  "'autocode reconcile' again for a fresh sheet of what is still open.")
    else:
        out.print(f"Next: [bold]autocode train --coder {r['into']}[/] learns the team's coding.")


def print_changed(conn, changed: list[tuple]) -> None:
    """Rows that overturn a decision settled before: an old sheet settled again, most likely."""
    from .confirm import code_name
    from .undo import places

    shown = "; ".join(f"{places(conn, [u])}: {' + '.join(code_name(conn, c) for c in old)} -> "
                      f"{' + '.join(code_name(conn, c) for c in new)}" for u, old, new in changed[:5])
    warn(f"{len(changed)} row(s) changed what was settled before ({shown}{' ...' if len(changed) > 5 else ''}). "
         "If this is an older sheet, 'autocode undo' puts the earlier decisions back.")
