"""The codebook: themes, and the codes under them, each with an id, name and definition.

Read and written as YAML in the shape researchers already keep (``themes: [{id, name,
definition, codes: [...]}]``), and stored in the project's ``themes`` and ``codes`` tables.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import AutocodeError


@dataclass
class Code:
    id: str
    name: str
    definition: str = ""
    theme: str = ""


@dataclass
class Theme:
    id: str
    name: str
    definition: str = ""
    codes: list[Code] = field(default_factory=list)


@dataclass
class Codebook:
    themes: list[Theme] = field(default_factory=list)

    @property
    def codes(self) -> list[Code]:
        return [c for t in self.themes for c in t.codes]

    def theme_of(self, code_id: str) -> str:
        """The theme id of a code id; '' for "no code" or an unknown code."""
        return next((c.theme for c in self.codes if c.id == code_id), "")

    def labels(self, code_id: str, theme: str = "") -> dict:
        """A coding's theme id and the code's and theme's names, for tables people read; a
        "no code" or unknown code keeps ``theme`` (the one a classifier remembers) and no names."""
        code = next((c for c in self.codes if c.id == code_id), None)
        theme = code.theme if code else theme
        return {"code name": code.name if code else "", "theme": theme,
                "theme name": next((t.name for t in self.themes if t.id == theme), "")}

    def find_code(self, ref: str) -> Code | None:
        """A code by id or by name, as a person would match it (see :func:`same_name`)."""
        return next((c for c in self.codes if same_name(c.id, ref) or same_name(c.name, ref)), None)

    def find_theme(self, ref: str) -> Theme | None:
        return next((t for t in self.themes if same_name(t.id, ref) or same_name(t.name, ref)), None)

    def nearest(self, ref: str, kind: str = "code") -> str | None:
        """The code (or theme) name closest to a mistyped ``ref``, for "did you mean"."""
        from difflib import get_close_matches

        items = self.codes if kind == "code" else self.themes
        names = {name_key(x.name): x.name for x in items} | {name_key(x.id): x.name for x in items}
        hit = get_close_matches(name_key(ref), list(names), n=1, cutoff=0.75)
        return names[hit[0]] if hit else None

    def to_dict(self) -> dict:
        return {"themes": [
            {"id": t.id, "name": t.name, "definition": t.definition,
             "codes": [{"id": c.id, "name": c.name, "definition": c.definition} for c in t.codes]}
            for t in self.themes]}


_STRAIGHT_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def name_key(name: str) -> str:
    """A name as people mean it: one Unicode form (macOS and Windows type "ô" differently),
    case, curly apostrophes and quotes (Excel and Word put them in), and spacing set aside."""
    text = unicodedata.normalize("NFC", name).casefold().translate(_STRAIGHT_QUOTES)
    return " ".join(text.split())


def same_name(a: str, b: str) -> bool:
    return name_key(a) == name_key(b)


def slug(name: str) -> str:
    """A code or theme id made from its name: lower case, accents dropped ("Équipe" -> equipe),
    words joined by underscores. Letters of other scripts are kept."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name.lower()) if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", "_", plain).strip("_")[:60] or "code"


# -- YAML ------------------------------------------------------------------------------------

def load_yaml(path: str | Path) -> Codebook:
    path = Path(path)
    if not path.is_file():
        raise AutocodeError("codebook file not found", "check the path to your codebook .yaml file", str(path))
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise AutocodeError(f"line {line}: the codebook is not UTF-8 text (byte {raw[exc.start]:#04x}, from another "
                            "encoding such as Windows-1252)", "save it as UTF-8 (in Notepad: Save As, Encoding: UTF-8) "
                            "and try again", str(path)) from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    return parse(data, str(path))


def _yaml_error(exc, path: Path) -> AutocodeError:
    """YAML's complaint in a researcher's words, at the line where the slip is."""
    problem, mark = str(getattr(exc, "problem", "") or ""), getattr(exc, "problem_mark", None)
    fix = "fix the indentation or quoting there"
    if "'\\t'" in problem or "\t" in problem:
        fix = "a tab is there: indent with spaces instead"
    elif "mapping values are not allowed" in problem:
        fix = ('a second colon is there: put the text after the first one in double quotes, such as '
               'definition: "Pay: what PSWs earn"')
    elif "quoted scalar" in str(getattr(exc, "context", "")):
        mark = getattr(exc, "context_mark", None) or mark
        fix = "a quotation mark opens there and is never closed: close it, or take it out"
    where = f"{path} line {mark.line + 1}" if mark is not None else str(path)
    return AutocodeError("the codebook is not valid YAML", fix, where)


SHAPE = ("write it as in the README's 'Codebook' section: 'themes:', then for each theme '- id:', 'name:', "
         "'definition:' and 'codes:', a list of codes with the same three keys")

THEME_KEYS, CODE_KEYS = ("id", "name", "definition", "codes"), ("id", "name", "definition")


def parse(data, where: str = "codebook") -> Codebook:
    if not isinstance(data, dict) or not isinstance(data.get("themes"), list):
        raise AutocodeError("a codebook needs a 'themes:' list at the top", SHAPE, where)
    if not data["themes"]:
        raise AutocodeError("the codebook's 'themes:' list is empty", "add at least one theme with its codes", where)
    book, seen = Codebook(), {}
    for i, t in enumerate(data["themes"], start=1):
        theme = _theme(t, i, where)
        if not isinstance(t.get("codes") or [], list):
            raise AutocodeError(f"theme '{theme.id}': 'codes' should be a list of codes", SHAPE, where)
        for j, c in enumerate(t.get("codes") or [], start=1):
            code = _code(c, f"theme '{theme.id}', code {j}", where, theme.id)
            if code.id in seen:
                raise AutocodeError(f"codes '{seen[code.id]}' and '{code.name}' both have the id '{code.id}'"
                                    " (made from the name where the file gives none)",
                                    "give each code its own 'id:' line, or its own name", where)
            _refuse_twice(theme.codes, code, f"theme '{theme.name}' has two codes called '{code.name}'", where)
            seen[code.id] = code.name
            theme.codes.append(code)
        _refuse_twice(book.themes, theme, f"two themes are called '{theme.name}'", where)
        twin = next((x for x in book.themes if x.id == theme.id), None)
        if twin:
            raise AutocodeError(f"themes '{twin.name}' and '{theme.name}' both have the id '{theme.id}'",
                                "give each theme its own 'id:' line, or its own name", where)
        book.themes.append(theme)
    refuse_shared_ids(book, where)
    return book


def refuse_shared_ids(book: Codebook, where: str) -> None:
    """A theme and a code of one id: '--themes X' or a coding of X could mean either."""
    codes = {c.id: c for c in book.codes}
    theme = next((t for t in book.themes if t.id in codes), None)
    if theme is not None:
        raise AutocodeError(f"the theme '{theme.name}' and the code '{codes[theme.id].name}' both have the id "
                            f"'{theme.id}'", "give the theme another 'id:' (such as "
                            f"{theme.id}_theme)", where)


def _refuse_twice(items: list, item, problem: str, where: str) -> None:
    """Two of one name would make every later lookup by that name pick one of them at random."""
    if any(same_name(x.name, item.name) for x in items):
        raise AutocodeError(problem, "give each its own name (or merge them into one)", where)


def _fields(item: dict, keys: tuple[str, ...], label: str, where: str) -> dict:
    """The item's fields as text; a key autocode does not read ('codez', or 'subcodes' under a
    code) or a list where text belongs is refused, since either would quietly lose part of the
    codebook. 'description' is read as the definition, as REFI-QDA names it."""
    from difflib import get_close_matches

    written = {"definition": "definition"}   # the name the file gives it, for the messages
    if "description" in item and "definition" not in item:
        item = {**{k: v for k, v in item.items() if k != "description"}, "definition": item["description"]}
        written["definition"] = "description"
    for key in item:
        if key not in keys:
            near = get_close_matches(str(key), keys, n=1, cutoff=0.7)
            raise AutocodeError(f"{label} has '{key}:', which autocode does not read, so it would be lost",
                                (f"did you mean '{near[0]}:'? " if near else "") + f"autocode reads "
                                f"{', '.join(k + ':' for k in keys)} (codes sit only one level under a theme)", where)
    for key in ("id", "name", "definition"):
        value = item.get(key)
        if value is not None and not isinstance(value, (str, int, float)) or isinstance(value, bool):
            key = written.get(key, key)
            raise AutocodeError(f"{label}: '{key}' should be text, not {type(value).__name__} ({value!r})",
                                f"write it as {key}: some text", where)
    return {k: " ".join(str(item.get(k) or "").split()) for k in ("id", "name", "definition")}


def _theme(t, i: int, where: str) -> Theme:
    if not isinstance(t, dict) or not (t.get("id") or t.get("name")):
        raise AutocodeError(f"theme {i} needs an 'id' or a 'name'", "add one and try again", where)
    f = _fields(t, THEME_KEYS, f"theme {i} ('{t.get('name') or t.get('id')}')", where)
    name = f["name"] or f["id"]
    return Theme(check_id(f["id"], "theme", where) if f["id"] else slug(name), name, f["definition"])


def _code(c, label: str, where: str, theme: str) -> Code:
    if isinstance(c, str):
        c = {"name": c}
    if not isinstance(c, dict) or not (c.get("id") or c.get("name")):
        raise AutocodeError(f"{label} needs an 'id' or a 'name'", "add one and try again", where)
    f = _fields(c, CODE_KEYS, f"{label} ('{c.get('name') or c.get('id')}')", where)
    name = f["name"] or f["id"]
    return Code(check_id(f["id"], "code", where) if f["id"] else slug(name), name, f["definition"], theme)


def keep_definitions(before: Codebook, book: Codebook) -> None:
    """A file that gives a theme or code no definition, or only its id for a name, does not
    wipe out the project's definition or name."""
    old = {x.id: x for x in before.themes + before.codes}
    for x in book.themes + book.codes:
        if x.id in old and not x.definition:
            x.definition = old[x.id].definition
        if x.id in old and x.name == x.id:
            x.name = old[x.id].name


def changes(before: Codebook, book: Codebook, renames: bool = True) -> list[str]:
    """What the file changed of codes and themes the project had: renamed, moved, redefined."""
    old = {("theme", t.id): t for t in before.themes} | {("code", c.id): c for c in before.codes}
    names = {t.id: t.name for t in before.themes + book.themes}
    said = []
    for kind, item in [("theme", t) for t in book.themes] + [("code", c) for c in book.codes]:
        was = old.get((kind, item.id))
        if was is None:
            continue
        if renames and was.name != item.name:
            said.append(f"{kind} '{was.name}' renamed '{item.name}'")
        if kind == "code" and was.theme != item.theme:
            said.append(f"code '{item.name}' moved from theme '{names.get(was.theme, was.theme)}' to '{names[item.theme]}'")
        if was.definition != item.definition:
            said.append(f"{kind} '{item.name}' given the file's definition")
    return said


def utterance_counts(conn, people: bool = True) -> dict[str, int]:
    """Utterances given each code by people (or by the machine), each utterance once however
    many coders gave it the code: the count a researcher means by "how often it was used"."""
    from .codings import MACHINE

    rows = conn.execute(f"SELECT code, COUNT(DISTINCT utterance) FROM codings WHERE code != '' AND coder "
                        f"{'!=' if people else '='} ? GROUP BY code", (MACHINE,))
    return dict(rows.fetchall())


def check_id(value: str, what: str, where: str | None = None) -> str:
    """An id is one word: commands take lists of ids separated by commas (--codes a,b), so a
    comma or a space in one would make it impossible to name later."""
    if not re.fullmatch(r"[\w.-]+", value):
        raise AutocodeError(f"the {what} id '{value}' has spaces or signs in it; an id is one word",
                            f"use an id such as {slug(value)}", where)
    return value


def dump_yaml(book: Codebook) -> str:
    return yaml.safe_dump(book.to_dict(), sort_keys=False, allow_unicode=True, width=100)


# -- the project's codebook ----------------------------------------------------------------------

def load(conn) -> Codebook:
    book = Codebook([Theme(r["id"], r["name"], r["definition"])
                     for r in conn.execute("SELECT * FROM themes ORDER BY position, id")])
    by_id = {t.id: t for t in book.themes}
    for r in conn.execute("SELECT * FROM codes ORDER BY position, id"):
        by_id[r["theme"]].codes.append(Code(r["id"], r["name"], r["definition"], r["theme"]))
    return book


def store(conn, book: Codebook) -> dict:
    """Merge ``book`` into the project's codebook: new ids are added, known ids updated."""
    counts = {"themes": 0, "codes": 0}
    for t in book.themes:
        conn.execute(
            "INSERT INTO themes (id, name, definition, position) VALUES (?, ?, ?, "
            "(SELECT COALESCE(MAX(position), 0) + 1 FROM themes)) "
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, definition = excluded.definition",
            (t.id, t.name, t.definition))
        counts["themes"] += 1
        for c in t.codes:
            add_code(conn, c.id, t.id, c.name, c.definition)
            counts["codes"] += 1
    return counts


def add_code(conn, code_id: str, theme: str, name: str, definition: str = "") -> None:
    conn.execute(
        "INSERT INTO codes (id, theme, name, definition, position) VALUES (?, ?, ?, ?, "
        "(SELECT COALESCE(MAX(position), 0) + 1 FROM codes)) ON CONFLICT(id) DO UPDATE SET "
        "theme = excluded.theme, name = excluded.name, definition = excluded.definition",
        (code_id, theme, name, definition))


def code_counts(conn, coder: str | None = None) -> dict[str, int]:
    """Codings per code: one per coder and utterance (two coders of one utterance count twice)."""
    sql = "SELECT code, COUNT(*) FROM codings WHERE code != ''"
    args = []
    if coder:
        sql += " AND coder = ?"
        args.append(coder)
    return dict(conn.execute(sql + " GROUP BY code", args).fetchall())
