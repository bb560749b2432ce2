"""``autocode demo``: the whole flow on the bundled demo corpus, narrated step by step.

It works in a temporary project (or one you keep with ``--keep``), so it never touches
your own projects.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from . import review
from .cluster import list_candidates, propose
from .codings import import_codings
from .agreement import kappa_words
from .corpus import add_files
from .errors import AutocodeError
from .export import export_csv, write_csv
from .learn import suggest, train
from .store import Project
from .undo import _name_of


def q(text: str, n: int = 90) -> str:
    """A quote made safe for rich markup and cut to ``n`` characters."""
    from rich.markup import escape

    text = " ".join(text.split())
    return escape(text if len(text) <= n else text[: n - 1] + "\u2026")

HELD_OUT = "D08"   # the transcript the machine has never seen, coded at the end
REVIEWER = "demo-reviewer"


def find_data(data: str | Path | None = None) -> Path:
    """The demo corpus: the given folder, or data/ beside the package (a source checkout)."""
    for folder in [Path(data)] if data else [Path(__file__).resolve().parent.parent / "data", Path.cwd() / "data"]:
        if (folder / "codebook.yaml").is_file() and (folder / "transcripts").is_dir():
            return folder
    raise AutocodeError("the demo corpus (a folder with codebook.yaml and transcripts/) was not found",
                        "run the demo from the autocode source folder, or pass --data PATH_TO/data")


def run_demo(data=None, keep=None, say=print) -> dict:
    """Run every step; returns the figures it reported, for tests."""
    data = find_data(data)
    if keep:
        result = _run(data, Path(keep), say)
        say(f"Review its candidates and suggestions in your browser: autocode review --project {keep}")
        return result
    with tempfile.TemporaryDirectory(prefix="autocode-demo-") as tmp:
        result = _run(data, Path(tmp) / "project", say)
    say("The demo project was temporary and is gone; run 'autocode demo --keep DIR' to keep it and look around.")
    return result


def _run(data: Path, root: Path, say) -> dict:
    say(f"[bold]autocode demo[/]: psychiatrists on Peer Support Workers, from {data}\n")
    project = Project.create(root)
    review.import_codebook(project, data / "codebook.yaml", REVIEWER)
    say(f"1. Created a project in {root} with the demo codebook (5 themes).")
    seen = sorted(p for p in (data / "transcripts").iterdir() if p.stem != HELD_OUT and not p.name.startswith("."))
    added = add_files(project, seen)
    say(f"2. Added {len(added.added)} transcripts ({', '.join(p.name for p in seen)}): {added.utterances} "
        "utterances, interviewer turns set aside.")
    found = propose(project, seed=0)
    say(f"3. Clustered participant utterances into {len(found)} candidate codes. The largest:")
    cands = list_candidates(project.conn)
    for c in cands[:5]:
        say(f"   #{c['id']} {c['label']} ({c['size']} utterances, {c['n_participants']} participants): "
            f"\u201c{q(c['examples'][0]['text'], 80)}\u201d")
    steps = _review(project, cands, say)
    results = _learn(project, data, say)
    out = root / "codings.csv"
    n = export_csv(project.conn, out)
    none = project.conn.execute("SELECT COUNT(*) FROM codings WHERE code = ''").fetchone()[0]
    say(f"8. Exported {n} rows ({n - none} codings and {none} 'no code' decisions, by alice, bob, {REVIEWER} and the "
        f"machine) to {out}.")
    say("\nDone. Try it on your own transcripts: autocode init my-study && cd my-study && autocode add FILES")
    project.close()
    return {"candidates": len(found), **steps, **results, "exported": n}


def _review(project: Project, cands: list[dict], say) -> dict:
    if len(cands) < 4:
        say("4. Too few candidates to show accept and merge; skipping the review step.")
        return {"accepted": 0}
    first = review.accept(project, cands[0]["id"], code_id=cands[0]["nearest_code"], coder=REVIEWER)
    theme = codebook_theme(project, cands[1]["nearest_code"])
    merged = review.merge(project, [cands[1]["id"], cands[2]["id"]], theme=theme,
                          name=f"New: {cands[1]['label']}", coder=REVIEWER)
    review.reject(project, [cands[3]["id"]], REVIEWER, reason="demo: not a code")
    say(f"4. As reviewer '{REVIEWER}': accepted #{cands[0]['id']} into the closest existing code, "
        f"'{first['name']}' ({first['codings']} codings); merged #{cands[1]['id']} and #{cands[2]['id']} into a new "
        f"code under theme '{_name_of(project.conn, 'theme', theme)}' ({merged['codings']} codings); rejected #{cands[3]['id']}. "
        "Each decision is in the log (autocode log).")
    return {"accepted": 1, "merged": 2}


def codebook_theme(project: Project, code_id: str) -> str:
    from .codebook import load

    return load(project.conn).theme_of(code_id)


def _learn(project: Project, data: Path, say) -> dict:
    files = sorted((data / "codings").glob("*.csv"))
    reports = [import_codings(project, f) for f in files]
    total, none = sum(r.codings for r in reports), sum(r.no_code for r in reports)
    say(f"5. Imported {total} human codings and {none} 'no code' decisions from {len(files)} files "
        f"({', '.join(f.name for f in files)}).")
    metrics = train(project, "alice")
    cv = metrics["cross_validation"]
    say(f"6. Trained the classifier on alice's {metrics['utterances']} coded utterances. Held-out-document "
        f"agreement with alice: themes kappa {cv['themes']['cohen_kappa']:.2f} "
        f"({kappa_words(cv['themes']['cohen_kappa'])}), codes kappa {cv['codes']['cohen_kappa']:.2f}.")
    held = next(p for p in (data / "transcripts").iterdir() if p.stem == HELD_OUT)
    add_files(project, [held])
    rows = suggest(project, [HELD_OUT])
    coded = sorted((r for r in rows if r["code"]), key=lambda r: -r["confidence"])
    write_csv(Path(project.root) / "suggestions.csv", rows)
    say(f"7. Suggested codes for {held.name}, a transcript it had not seen: {len(coded)} of {len(rows)} "
        "participant utterances got a code. Most confident:")
    for r in coded[:3]:
        say(f"   {r['code name'] or r['code']} ({r['confidence']:.2f}): \u201c{q(r['text'])}\u201d\n      because {q(r['reason'], 160)}")
    return {"theme_kappa": cv["themes"]["cohen_kappa"], "code_kappa": cv["codes"]["cohen_kappa"],
            "suggested": len(rows)}
