"""How ``autocode compare`` puts agreement into words on the command line: the overall line,
the tables per code, theme and document, the reference coder's figures, the confusion matrix,
and the warnings that say when a figure flatters the machine; and the command itself, which ``cli``
registers."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from .cli import JsonOpt, ProjectOpt, command, emit_json, fmt, ids, out, warn
from .errors import AutocodeError, and_list
from .store import Project


def warn_if_settled_from(conn, coders: list[str]) -> bool:
    """A consensus compared with the coders it was settled from agrees with them by construction,
    and lifts any figure over all of them. Returns whether a consensus is among the coders."""
    from .report import _settled_from
    from .reconcile import sources

    for a in coders:
        for b in coders:
            for words in _settled_from(conn, a, b) if a < b else []:
                warn(words + ".")
    return any(c in sources(conn) for c in coders)


def warn_if_unread(conn, coders: list[str]) -> None:
    """A coder's suggestions accepted unread are the machine's codings under their name."""
    from .confirm import unread_overlap, unread_words

    found = False
    for a in coders:
        for b in coders:
            if a != b and (n := unread_overlap(conn, a, b)):
                warn(unread_words(n, a, b) + ".")
                found = True
    if found:
        warn("to measure agreement without them, run the same compare with --leave-out-unread.")


def warn_if_grouped(conn, coders: list[str]) -> None:
    from .report import grouped_words

    for who in coders:
        if words := grouped_words(conn, who):
            warn(words + ".")


def write_per_code(report: dict, path: Path) -> None:
    from .export import write_csv

    level = _level_of(report)
    names = report.get("names") or {}
    cols = [level, *(["name"] if names else []), "n_units", "percent_agreement", "cohen_kappa", "cohen_kappa_ci", "krippendorff_alpha",
            "krippendorff_alpha_ci", "fleiss_kappa", "brennan_prediger", "in_words"]
    spans = lambda f: {k: f"{v[0]:.3f}–{v[1]:.3f}" for k, v in f.items() if k.endswith("_ci") and v}  # noqa: E731
    rounded = lambda f: {k: round(v, 4) if isinstance(v, float) else v for k, v in f.items()}  # noqa: E731
    write_csv(path, [{level: c, "name": names.get(c, c), **rounded(f), **spans(f)}
                     for c, f in report[f"per_{level}"].items()], cols)


def refuse_if_nothing_shared(report: dict) -> None:
    """Coders who coded nothing in common get one line on what to do, not a page of "undefined"."""
    if report["overall"].get("n_units", 1):
        return
    who = report["coders"]
    fix = ("have the machine code the documents the others coded: autocode suggest --documents DOCS (add "
           "--include-coded where the coder it learnt from coded them)" if "machine" in who else
           "compare documents they both coded, or have them code some of the same transcripts")
    names = and_list(who)
    raise AutocodeError(f"{names} coded no {report['unit']} in common, so there is no agreement to measure", fix)


def print_report(report: dict, disagreements) -> None:
    o = report["overall"]
    out.print(Text(f"Compared {', '.join(report['coders'])} by {report['unit']} ({report['level']}s): "
                   f"{o['n_units']} units. {report['uncoded'].capitalize()}."))
    out.print(Text(f"Overall: {fmt(o.get('percent_agreement'), 1)}% agreement; {o['in_words']}."))
    if o.get("brennan_prediger") is not None:
        out.print(Text(f"Brennan-Prediger kappa {o['brennan_prediger']:.2f} (chance taken as every category equally likely)."))
    for pair, f in (o.get("pairs") or {}).items():
        shared = f"{fmt(f.get('percent_agreement'), 1)}% agreement" if f.get("n_units") else "no unit coded by both"
        out.print(Text(f"  {pair}: {shared}; {f['in_words']}." if f.get("n_units") else f"  {pair}: {shared}."))
    for note in o.get("notes", []):
        out.print(Text(f"Note: {note}."))
    if report.get("several_codes"):
        n = report["several_codes"]
        level = _level_of(report)
        out.print(Text(f"Note: {n} of the {report['unit']}s compared carr{'y' if n != 1 else 'ies'} two or more {level}s "
                       f"from one coder. Overall, such a unit counts as agreed only when the coders gave the same set "
                       f"of {level}s (a machine suggesting one never matches a coder's two); the per-{level} table "
                       f"below counts each {level} on its own."))
    level = _level_of(report)
    _print_figures(report[f"per_{level}"], level, f"Per {level} (present or absent)", report.get("names"))
    if len(report.get("per_document") or {}) > 1:
        _print_figures(report["per_document"], "document", "Per document")
    _print_reference(report.get("against_reference"), report.get("names"))
    _print_confusion(report.get("confusion"), report["coders"])
    n = len(report["disagreements"])
    if not n:
        return out.print("No disagreements.")
    out.print(f"{n} disagreement{'' if n == 1 else 's'}" + (f", written to {disagreements}." if disagreements else
                                      ". Write them out for the consensus meeting with --disagreements FILE.csv."))
    people = [c for c in report["coders"] if c != "machine"]
    if report.get("names") is not None and len(people) == len(report["coders"]) and report["unit"] == "utterance" \
            and not report.get("consensus_among"):
        out.print(f"To settle them into a consensus coding: [bold]autocode reconcile {' '.join(people)} --sheet "
                  "to_settle.csv[/].")


def _level_of(report: dict) -> str:
    """Themes when the comparison was at theme level and has theme figures (segments have none), else codes."""
    return "theme" if report.get("level") == "theme" and report.get("per_theme") else "code"


def _print_figures(rows: dict, what: str, title: str, names: dict | None = None) -> None:
    """One row of figures per code, theme or document (by name where the codebook gives one):
    Cohen's kappa for two coders, Fleiss' for more (Cohen's is defined for pairs only)."""
    fleiss = any("fleiss_kappa" in f for f in rows.values())
    name = "Fleiss' kappa" if fleiss else "kappa (95% CI)"
    table = Table(what, "units", "agree %", name, "alpha (95% CI)", "reading", title=title)
    for key, f in rows.items():
        kappa = fmt(f.get("fleiss_kappa")) if fleiss else _with_ci(f.get("cohen_kappa"), f.get("cohen_kappa_ci"))
        table.add_row(Text((names or {}).get(key, key)), str(f.get("n_units", "")), fmt(f.get("percent_agreement"), 1), kappa,
                      _with_ci(f.get("krippendorff_alpha"), f.get("krippendorff_alpha_ci")), Text(_reading(f)))
    out.print(table)


def _print_reference(against: dict | None, names: dict | None = None) -> None:
    """Precision, recall and F1 of each coder against the reference coder, per code."""
    for who, per_code in (against or {}).items():
        table = Table("code", "precision", "recall", "F1", "reference's / coder's", title=f"{who} against the reference")
        for code, f in per_code.items():
            table.add_row(Text((names or {}).get(code, code)), fmt(f["precision"]), fmt(f["recall"]), fmt(f["f1"]),
                          f"{f['n_reference']} / {f['n_coder']}")
        out.print(table)


def _print_confusion(matrix: dict | None, coders: list[str]) -> None:
    """Rows: the first coder's codes; columns: the second's. Only when it fits on a screen."""
    labels = sorted(set(matrix or {}) | {b for row in (matrix or {}).values() for b in row})
    if not matrix or len(labels) > 12:
        return
    table = Table(f"{coders[0]} \\ {coders[1]}", *map(str, range(1, len(labels) + 1)),
                  title="Confusion matrix (units); columns numbered as the rows")
    for i, a in enumerate(labels, 1):
        table.add_row(Text(f"{i}. {a}"), *[str(matrix.get(a, {}).get(b, 0) or "") for b in labels])
    out.print(table)


def _reading(f: dict) -> str:
    from .agreement import alpha_words, kappa_words

    kappa = f.get("cohen_kappa", f.get("fleiss_kappa"))
    if f.get("krippendorff_alpha") is None and kappa is None:
        return "; ".join(f.get("notes", [])) or "undefined"
    parts = [kappa_words(kappa)] if kappa is not None else []
    return "; ".join(parts + [f"alpha: {alpha_words(f.get('krippendorff_alpha'))}"])


def _with_ci(value, ci) -> str:
    return fmt(value) + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")


@command()
def compare(items: Annotated[list[str], typer.Argument(help="Coder names in the project, or codings CSV files.")],
            unit: Annotated[str, typer.Option(help="utterance, character (as NVivo) or segment (as MAXQDA).")] = "utterance",
            level: Annotated[str, typer.Option(help="Compare codes, or the themes they roll up to.")] = "code",
            documents: Annotated[Optional[str], typer.Option(help="Comma-separated document ids.")] = None,
            codes: Annotated[Optional[str], typer.Option(help="Comma-separated code ids.")] = None,
            themes: Annotated[Optional[str], typer.Option(help="Comma-separated theme ids (project only).")] = None,
            uncoded: Annotated[str, typer.Option(help="missing (default) or no-code: how uncoded utterances count.")] = "missing",
            overlap: Annotated[float, typer.Option(help="Segment unit: share of overlap that counts as agreement.")] = 0.9,
            reference: Annotated[Optional[str], typer.Option(help="Also give precision/recall/F1 against this coder.")] = None,
            as_json: JsonOpt = False,
            csv_file: Annotated[Optional[Path], typer.Option("--csv", help="Write the per-code (or, with --level theme, per-theme) figures to this CSV.")] = None,
            disagreements: Annotated[Optional[Path], typer.Option(help="Write the disagreement list to this CSV.")] = None,
            seed: Annotated[int, typer.Option(help="Seed of the bootstrap confidence intervals.")] = 0,
            leave_out_unread: Annotated[bool, typer.Option("--leave-out-unread", help="Leave out utterances where a coder accepted the machine's suggestions unread (project only).")] = False,
            project: ProjectOpt = None):
    """Agreement between coders (or the machine): kappa, alpha and more, with disagreements."""
    from .cli_suggest import warn_if_learnt
    from .compare import compare_files, compare_project, unread_utterances, write_disagreements
    from .learn import machine_on_training

    from .export import check_writable

    for path in (csv_file, disagreements):
        if path:
            check_writable(path, (".csv",), "a CSV")
    options = dict(unit=unit, level=level, uncoded=uncoded, overlap=overlap, reference=reference,
                   codes=ids(codes), seed=seed)
    from .codings import SPREADSHEETS

    sheets = [i for i in items if Path(i).suffix.lower() in SPREADSHEETS + (".tsv", ".txt")]
    if sheets:
        raise AutocodeError(f"compare reads codings from CSV files, not {', '.join(sheets)}",
                            "in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)', then compare the .csv files")
    files = [i for i in items if i.lower().endswith(".csv")]
    if files and len(files) < len(items):
        names = [i for i in items if i not in files]
        raise AutocodeError(f"{', '.join(files)} {'is a file' if len(files) == 1 else 'are files'} and "
                            f"{', '.join(names)} {'is a coder' if len(names) == 1 else 'are coders'}: compare either "
                            "coders in a project or codings files, not both",
                            f"export the coder{'s' if len(names) > 1 else ''} first ('autocode export --coder "
                            f"{names[0]} --out {names[0]}.csv') and compare the files")
    if files:
        if themes or leave_out_unread:
            raise AutocodeError(f"{'--themes' if themes else '--leave-out-unread'} needs a project (it reads "
                                f"{'the codebook' if themes else 'which codings were accepted unread'})",
                                "use --codes with CSV files" if themes else "compare the coders by name inside the project")
        report = compare_files([Path(i) for i in items], ids(documents), **options)
    else:
        p = Project.find(project)
        report = compare_project(p, items, ids(documents), ids(themes), leave_out_unread, **options)
        skip = unread_utterances(p.conn, items) if leave_out_unread else set()
        warn_if_learnt(*machine_on_training(p, items, ids(documents), skip))
        if not leave_out_unread:
            warn_if_unread(p.conn, items)
        warn_if_grouped(p.conn, items)
        report["consensus_among"] = warn_if_settled_from(p.conn, items)
    refuse_if_nothing_shared(report)
    if disagreements:
        write_disagreements(report["disagreements"], report["coders"], disagreements)
    if csv_file:
        write_per_code(report, csv_file)
    if as_json:
        return emit_json(report)
    print_report(report, disagreements)
