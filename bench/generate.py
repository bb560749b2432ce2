"""Generate a large interview corpus, with codings, by recombining the demo corpus.

Each generated transcript joins one of the demo transcripts coded by alice (D01-D07) and the
second half of another (about 200 utterances in all, like a long interview), swaps about a third of its question-and-answer exchanges for the exchange at the same point of
another demo interview, gives its participant a new label, and re-words the participant's
talk: synonyms swapped, openers ("Honestly, ", "I mean, ") added, places varied, each with a
seeded coin toss. alice's codings travel with the words they code, with new offsets, so
``import-codings`` works on the result. The meaning is the demo's (about 1,300 coded participant
segments, re-worded), so this measures speed and memory, not clustering quality; the
texts differ, so the embedding cache does not hide the cost of embedding.

    python bench/generate.py N OUT_FOLDER [--seed 0] [--coded 0.2] [--variants 0]

writes OUT_FOLDER/transcripts/G0001.txt ... and OUT_FOLDER/codings.csv (the first ``coded``
share of the transcripts, coded by "alice").
"""
from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "data"
BASES = ["D01", "D02", "D03", "D04", "D05", "D06", "D07"]
SWAP_EXCHANGE = 0.3
SYNONYMS = {
    "really": ["truly", "genuinely", "really"], "important": ["valuable", "key", "important"],
    "difficult": ["hard", "tricky", "difficult"], "good": ["helpful", "positive", "good"],
    "team": ["service", "unit", "team"], "patients": ["service users", "people we see", "patients"],
    "think": ["feel", "reckon", "think"], "worried": ["concerned", "anxious", "worried"],
    "big": ["large", "major", "big"], "time": ["time", "a while", "time"], "help": ["support", "help", "assist"],
    "ward": ["unit", "ward", "inpatient ward"], "staff": ["colleagues", "staff", "clinicians"],
    "experience": ["background", "experience", "history"], "role": ["job", "post", "role"],
    "often": ["frequently", "a lot", "often"], "people": ["folk", "individuals", "people"],
}
INTERVIEWER, PARTICIPANT = "\0interviewer", "\0participant"  # speaker labels, replaced when writing
OPENERS = [""] * 12 + ["Honestly, ", "I mean, ", "To be fair, ", "You know, ", "Well, "]
PLACES = ["north", "south", "east", "west", "city", "county"]
WORD = re.compile(r"\b(" + "|".join(SYNONYMS) + r"|north|south|east|west)\b")
SENTENCE_START = re.compile(r"(^|[.!?] )([A-Z])")


def vary(text: str, rng: np.random.Generator) -> str:
    """The same meaning in slightly different words."""
    def swap(m):
        w = m.group(1)
        return str(rng.choice(SYNONYMS[w] if w in SYNONYMS else PLACES))

    def opener(m):
        o, first = str(rng.choice(OPENERS)), m.group(2)
        keep_capital = first == "I" and m.string[m.end():m.end() + 1] in (" ", "'", "’")
        return m.group(1) + o + (first if keep_capital or not o else first.lower())
    return SENTENCE_START.sub(opener, WORD.sub(swap, text))


def demo_pieces(doc: str) -> list[list[tuple[str, list[dict], bool]]]:
    """A demo transcript as exchanges (a question and its answers), each a list of pieces:
    (text, alice's codings of exactly that text, whether the participant said it)."""
    text = (DEMO / "transcripts" / f"{doc}.txt").read_text(encoding="utf-8")
    spans: dict[tuple[int, int], list[dict]] = {}
    for f in sorted((DEMO / "codings").glob("alice_*.csv")):
        for r in csv.DictReader(f.open(encoding="utf-8")):
            if r["document"] == doc:
                spans.setdefault((int(r["start"]), int(r["end"])), []).append(r)
    exchanges, pos = [], 0
    for line in text.splitlines(keepends=True):
        speaker, _, said = line.partition(": ")
        asks = "interviewer" in speaker.lower()
        if asks or not exchanges:
            exchanges.append([])
        if not said:
            exchanges[-1].append((line, [], False))
            pos += len(line)
            continue
        start = pos + len(speaker) + 2
        exchanges[-1].append((INTERVIEWER if asks else PARTICIPANT, [], False))
        exchanges[-1].extend(_split(text, start, pos + len(line), spans, not asks))
        pos += len(line)
    return exchanges


def _split(text, start, end, spans, participant):
    """Pieces of one turn: coded spans and the text between them."""
    pieces, at = [], start
    for (s, e), rows in sorted(spans.items()):
        if start <= s < end:
            if s > at:
                pieces.append((text[at:s], [], participant))
            pieces.append((text[s:e], rows, participant))
            at = e
    if at < end:
        pieces.append((text[at:end], [], participant))
    return pieces


def transcript(i: int, demo: dict, rng: np.random.Generator, variants: int = 0) -> tuple[str, list[dict]]:
    """Transcript number ``i``: its text and its codings (offsets into that text)."""
    doc_id, base = f"G{i:04d}", demo[BASES[i % len(BASES)]]
    second = demo[BASES[(i + 3) % len(BASES)]]
    label = f"P{i}"
    out, rows, pos = [], [], 0
    # a longer interview: one demo interview, then the second half of another
    for k, exchange in enumerate(base + second[len(second) // 2:]):
        other = demo[str(rng.choice(BASES))]
        if rng.random() < SWAP_EXCHANGE and 0 < k < len(other):
            exchange = other[k]
        for text, codings, participant in exchange:
            text = reword(text, rng, variants) if participant else {INTERVIEWER: "Interviewer: ", PARTICIPANT: label + ": "}.get(text, text)
            rows += [{**r, "document": doc_id, "start": pos, "end": pos + len(text), "text": text} for r in codings]
            out.append(text)
            pos += len(text)
    return "".join(out), rows


def reword(text: str, rng: np.random.Generator, variants: int) -> str:
    """A fresh re-wording, or with ``variants`` one of that many fixed re-wordings of this text
    (so the corpus holds at most that many distinct versions of each demo sentence)."""
    if not variants:
        return vary(text, rng)
    k = int(rng.integers(variants))
    return vary(text, np.random.default_rng([k, int.from_bytes(text.encode("utf-8")[:64].ljust(64, b" "), "big") % 2**63]))


def generate(n: int, folder: Path, seed: int = 0, coded: float = 0.2, variants: int = 0) -> dict:
    """Write ``n`` transcripts and the codings of the first ``coded`` share of them."""
    rng = np.random.default_rng(seed)
    demo = {d: demo_pieces(d) for d in BASES}
    (folder / "transcripts").mkdir(parents=True, exist_ok=True)
    n_coded, all_rows = max(1, round(n * coded)), []
    for i in range(1, n + 1):
        text, rows = transcript(i, demo, rng, variants)
        (folder / "transcripts" / f"G{i:04d}.txt").write_text(text, encoding="utf-8")
        if i <= n_coded:
            all_rows += rows
    with (folder / "codings.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["document", "start", "end", "code", "theme", "coder", "text"])
        w.writeheader()
        w.writerows(all_rows)
    return {"transcripts": n, "coded": n_coded, "coding_rows": len(all_rows)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--coded", type=float, default=0.2, help="share of transcripts with codings")
    ap.add_argument("--variants", type=int, default=0,
                    help="at most this many re-wordings of each demo sentence (0: a fresh one each time)")
    args = ap.parse_args()
    print(generate(args.n, args.out, args.seed, args.coded, args.variants))


if __name__ == "__main__":
    main()
