"""Human decisions on candidates and the codebook; each one is logged.

These are the operations both the CLI and the browser review call. Each runs in one
transaction together with its log entry, so a decision is either fully made and logged, or
not made at all.
"""
from __future__ import annotations

from pathlib import Path

from . import codebook as cb
from .errors import AutocodeError, Conflict, NotFound
from .store import Project, default_coder, now
from .undo import recorded


def _coder(coder: str | None) -> str:
    return coder or default_coder()


def _open_candidate(conn, cid: int) -> dict:
    row = conn.execute("SELECT * FROM candidates WHERE id = ?", (cid,)).fetchone()
    if row is None:
        raise NotFound(f"there is no candidate {cid}", "see the open candidates ('autocode candidates', or the review page's Candidates)")
    if row["status"] != "open":
        again = {"rejected": f"to decide it again, reopen it first (autocode reopen {cid}, or Reopen under "
                             "'Rejected candidates' on the review page's Candidates); ",
                 "split": "decide on the candidates it was split into ('autocode candidates'); ",
                 }.get(row["status"], "'autocode undo' takes back the latest decision; ")
        raise Conflict(f"candidate {cid} was already {row['status']}",
                       again + "the decision log shows who decided it ('autocode log', or the review page's Decision log)")
    return dict(row)


def _theme(conn, ref: str) -> cb.Theme:
    book = cb.load(conn)
    theme = book.find_theme(ref) if ref.strip() else None
    if theme is None:
        names = ", ".join(f"{t.id} ({t.name})" for t in book.themes)
        if not ref.strip():
            raise AutocodeError("a new code needs a theme", "choose a theme (--theme on the command line, or the Theme "
                                f"field on the review page); themes: {names or 'none yet: create one with autocode theme add NAME'}")
        guess = book.nearest(ref, "theme")
        raise NotFound(f"there is no theme '{ref}'" + (f" (did you mean '{guess}'?)" if guess else ""),
                       (f"use one of: {names}; or " if names else "the project has no themes yet: ")
                       + f"create it first with: autocode theme add \"{ref}\"")
    return theme


def _code(conn, ref: str) -> cb.Code:
    book = cb.load(conn)
    code = book.find_code(ref)
    if code is None:
        guess = book.nearest(ref)
        raise NotFound(f"there is no code '{ref}' in the codebook" + (f" (did you mean '{guess}'?)" if guess else ""),
                       "see the codes with 'autocode codebook', or check the spelling")
    return code


def _new_code(conn, name: str, theme_ref: str, definition: str, code_id: str | None) -> cb.Code:
    """Create the code a decision codes into, when the codebook has none of that id or name."""
    theme = _theme(conn, theme_ref)
    new_id = _unique_id(conn, cb.check_id(code_id, "code") if code_id else cb.slug(name))
    cb.add_code(conn, new_id, theme.id, name, definition)
    return cb.Code(new_id, name, definition, theme.id)


def _unique_id(conn, base: str) -> str:
    """``base``, or ``base_2``, ``base_3``...: two names can make one id ("Été", "été!")."""
    taken = {r[0] for r in conn.execute("SELECT id FROM codes UNION SELECT id FROM themes")}   # one id, one thing
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def _confirm_members(conn, cids: list[int], code: str, coder: str) -> tuple[int, int]:
    """Members of the candidates become this coder's confirmed codings of ``code``. Returns how
    many, and how many of them the coder had coded "no code" before."""
    rows = conn.execute(
        f"SELECT DISTINCT utterance FROM candidate_members WHERE candidate IN ({','.join('?' * len(cids))})",
        cids).fetchall()
    replaced = _drop_no_code(conn, [r[0] for r in rows], coder)
    conn.executemany("INSERT OR IGNORE INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                     [(r[0], code, coder, now()) for r in rows])
    return len(rows), replaced


def _drop_no_code(conn, utterances: list[int], coder: str) -> int:
    """A code given now replaces the coder's earlier "no code" on the utterance: carrying both
    says two opposite things, and training would learn the utterance twice."""
    return conn.executemany("DELETE FROM codings WHERE utterance = ? AND coder = ? AND code = ''",
                            [(u, coder) for u in utterances]).rowcount


def accept(project: Project, cid: int, theme: str = "", name: str | None = None,
           definition: str = "", code_id: str | None = None, coder: str | None = None,
           new_theme: str | None = None) -> dict:
    """Accept a candidate as a code (new, or an existing one named by ``name``/``code_id``)."""
    return merge(project, [cid], theme, name, definition, code_id, coder, action="accept", new_theme=new_theme)


def merge(project: Project, cids: list[int], theme: str = "", name: str | None = None,
          definition: str = "", code_id: str | None = None, coder: str | None = None,
          action: str = "merge", new_theme: str | None = None) -> dict:
    """Merge candidates into one code; their utterances become the coder's codings. With
    ``new_theme`` the code goes under a theme of that name made in the same step, so a
    decision that fails leaves no empty theme behind and is one step to undo."""
    coder = _coder(coder)
    with recorded(project) as conn:
        cands = [_open_candidate(conn, c) for c in dict.fromkeys(cids)]
        label = cands[0]["label"] if name is None else _name(name, "code name")
        book = cb.load(conn)
        existing = book.find_code(code_id or label)
        new_theme = new_theme.strip() if new_theme is not None else None
        if code_id and not existing and not theme.strip() and not new_theme:   # a typo, more likely than a new code
            guess = book.nearest(code_id)
            raise NotFound(f"there is no code '{code_id}'" + (f" (did you mean '{guess}'?)" if guess else ""),
                           "name an existing code, or add --theme THEME to make it a new code of that theme")
        if existing and not code_id and name is not None:
            _refuse_name_elsewhere(book, existing, theme, new_theme)
        if new_theme is not None and not existing:   # an existing code keeps its theme: make no empty one
            theme = _create_theme(conn, new_theme).id
        code = existing or _new_code(conn, label, theme, definition, code_id)
        n, was_no_code = _confirm_members(conn, [c["id"] for c in cands], code.id, coder)
        conn.executemany("UPDATE candidates SET status = ?, code = ? WHERE id = ?",
                         [("accepted" if action == "accept" else "merged", code.id, c["id"]) for c in cands])
        project.log(action, coder, candidates=[c["id"] for c in cands], code=code.id,
                    name=code.name, theme=code.theme, codings=n)
        also = _also_coded(conn, [c["id"] for c in cands], code.id, coder)
    asked = book.find_theme(theme) if theme and existing else None
    unused = new_theme if new_theme is not None and existing else (asked.id if asked and asked.id != code.theme else None)
    return {"code": code.id, "name": code.name, "theme": code.theme, "codings": n, "existing": existing is not None,
            "theme_not_used": unused, "also_coded": also, "was_no_code": was_no_code}


def _refuse_name_elsewhere(book: cb.Codebook, existing: cb.Code, theme: str, new_theme: str | None) -> None:
    """A new code's name that an existing code has, under another theme than the one asked
    for: the researcher meant a new code there, not to add to that one."""
    asked = book.find_theme(theme) if theme.strip() else None
    if new_theme is None and (asked is None or asked.id == existing.theme):
        return
    home = book.find_theme(existing.theme)
    raise Conflict(f"a code called '{existing.name}' already exists, under theme '{home.name if home else existing.theme}'",
                   f"to add these utterances to it, choose that code (on the command line: --code {existing.id}); "
                   "to make a new code under the theme you named, give it another name")


def _also_coded(conn, cids: list[int], code: str, coder: str) -> int:
    """How many of the candidates' utterances the coder had already given another code."""
    marks = ",".join("?" * len(cids))
    return conn.execute(f"SELECT COUNT(DISTINCT utterance) FROM codings WHERE coder = ? AND code NOT IN (?, '') AND "
                        f"utterance IN (SELECT utterance FROM candidate_members WHERE candidate IN ({marks}))",
                        [coder, code, *cids]).fetchone()[0]


def reject(project: Project, cids: list[int], coder: str | None = None, reason: str = "") -> int:
    coder = _coder(coder)
    with recorded(project) as conn:
        for c in dict.fromkeys(cids):
            _open_candidate(conn, c)
            conn.execute("UPDATE candidates SET status = 'rejected' WHERE id = ?", (c,))
        project.log("reject", coder, candidates=list(dict.fromkeys(cids)), reason=reason)
    return len(set(cids))


def reopen(project: Project, cids: list[int], coder: str | None = None) -> int:
    """Put rejected candidates back among the open ones: the opposite of :func:`reject`, for
    when undo can no longer reach it."""
    with recorded(project) as conn:
        for c in dict.fromkeys(cids):
            row = conn.execute("SELECT status FROM candidates WHERE id = ?", (c,)).fetchone()
            if row is None or row["status"] != "rejected":
                raise Conflict(f"candidate {c} is not rejected" + (f" (it is {row['status']})" if row else ""),
                               "only rejected candidates can be reopened; see them with autocode candidates --all")
            conn.execute("UPDATE candidates SET status = 'open' WHERE id = ?", (c,))
        project.log("reopen", _coder(coder), candidates=list(dict.fromkeys(cids)))
    return len(set(cids))


def rename_code(project: Project, ref: str, new_name: str, coder: str | None = None) -> cb.Code:
    new_name = _name(new_name, "code name")
    with recorded(project) as conn:
        code = _code(conn, ref)
        _refuse_taken(cb.load(conn).find_code(new_name), code.id, "code", new_name)
        conn.execute("UPDATE codes SET name = ? WHERE id = ?", (new_name, code.id))
        project.log("rename-code", _coder(coder), code=code.id, old=code.name, new=new_name)
    return cb.Code(code.id, new_name, code.definition, code.theme)


def move_code(project: Project, ref: str, theme_ref: str, coder: str | None = None) -> cb.Code:
    with recorded(project) as conn:
        code, theme = _code(conn, ref), _theme(conn, theme_ref)
        if code.theme == theme.id:
            raise Conflict(f"the code '{code.name}' is already under theme '{theme.name}'", "nothing to move; "
                           "'autocode codebook' shows where each code sits")
        conn.execute("UPDATE codes SET theme = ? WHERE id = ?", (theme.id, code.id))
        project.log("move-code", _coder(coder), code=code.id, old=code.theme, new=theme.id)
    return cb.Code(code.id, code.name, code.definition, theme.id)


def add_theme(project: Project, name: str, definition: str = "", theme_id: str | None = None,
              coder: str | None = None) -> cb.Theme:
    with recorded(project) as conn:
        theme = _create_theme(conn, name, definition, theme_id)
        project.log("add-theme", _coder(coder), theme=theme.id, name=theme.name)
    return theme


def _create_theme(conn, name: str, definition: str = "", theme_id: str | None = None) -> cb.Theme:
    """A new theme, for a decision of its own or as part of one (accepting a code under it)."""
    name, book = _name(name, "theme name"), cb.load(conn)
    if taken := book.find_theme(name):
        called = "" if cb.same_name(taken.name, name) else f" (the id of theme '{taken.name}')"
        raise Conflict(f"a theme '{name}' already exists{called}", "choose another name, or use it as it is")
    if theme_id and (holder := next((x for x in [*book.themes, *book.codes] if x.id == theme_id), None)):
        raise Conflict(f"the theme id '{theme_id}' is taken, by {'theme' if isinstance(holder, cb.Theme) else 'code'} "
                       f"'{holder.name}'",
                       "choose another id, or leave --id out and one is made from the name")
    theme = cb.Theme(cb.check_id(theme_id, "theme") if theme_id else _unique_id(conn, cb.slug(name)), name, definition)
    cb.store(conn, cb.Codebook([theme]))
    return theme


def rename_theme(project: Project, ref: str, new_name: str, coder: str | None = None) -> cb.Theme:
    new_name = _name(new_name, "theme name")
    with recorded(project) as conn:
        theme = _theme(conn, ref)
        _refuse_taken(cb.load(conn).find_theme(new_name), theme.id, "theme", new_name)
        conn.execute("UPDATE themes SET name = ? WHERE id = ?", (new_name, theme.id))
        project.log("rename-theme", _coder(coder), theme=theme.id, old=theme.name, new=new_name)
    return cb.Theme(theme.id, new_name, theme.definition)


def import_codebook(project: Project, path: str | Path, coder: str | None = None) -> dict:
    """Merge a codebook file into the project's. Returns the counts, the themes and codes the
    file renamed ("old -> new"), and the codes it moved or redefined, so that no change to the
    codebook goes unsaid. A code the file gives no definition keeps the project's."""
    book = cb.load_yaml(path)
    with project.transaction() as conn:
        before = cb.load(conn)
        _adopt_ids(before, book)
        _refuse_name_clashes(before, book, path)
        cb.keep_definitions(before, book)
        _refuse_ids_taken(before, book, path)
        counts = cb.store(conn, book)
        renamed, changes = _renamed(before, book), cb.changes(before, book, renames=False)
        project.log("import-codebook", _coder(coder), file=str(path), renamed=renamed, changes=changes, **counts)
    ids = {t.id for t in book.themes} | {c.id for c in book.codes}
    kept = [x.name for x in before.themes + before.codes if x.id not in ids]
    return {**counts, "renamed": renamed, "changes": changes, "kept": kept}


def _refuse_ids_taken(before: cb.Codebook, book: cb.Codebook, path) -> None:
    """The file's theme ids against the project's code ids, and the other way round (the file
    against itself is checked as it is read)."""
    clashes = [(t, c, "theme", "code") for t in book.themes for c in before.codes if t.id == c.id] \
        + [(c, t, "code", "theme") for c in book.codes for t in before.themes if c.id == t.id]
    if clashes:
        mine, theirs, kind, other = clashes[0]
        raise AutocodeError(f"the file's {kind} '{mine.name}' has the id '{mine.id}', which is the project's {other} "
                            f"'{theirs.name}'", f"give the {kind} another 'id:' in the file (such as {mine.id}_{kind})",
                            str(path))


def _adopt_ids(before: cb.Codebook, book: cb.Codebook) -> None:
    """A theme or code the file names without an id takes the id the project already gives that
    name, so re-importing a codebook updates it (ids made from names changed on 2026-12-07:
    "Équipe" became equipe, not quipe)."""
    for new, old in ((book.themes, before.themes), (book.codes, before.codes)):
        for item in new:
            same = next((o for o in old if cb.same_name(o.name, item.name)), None)
            free = same and not any(n.id == same.id for n in new)   # never two of the file's items on one id
            if free and item.id == cb.slug(item.name) and same.id != item.id:
                item.id = same.id
                for code in getattr(item, "codes", []):
                    code.theme = item.id


def _refuse_name_clashes(before: cb.Codebook, book: cb.Codebook, path) -> None:
    """A name the project already gives to a code (or theme) of another id would make two of
    one name, and every later lookup by name ambiguous."""
    for kind, new, old in (("theme", book.themes, before.themes), ("code", book.codes, before.codes)):
        for item in new:
            clash = next((o for o in old if cb.same_name(o.name, item.name) and o.id != item.id), None)
            if clash and not any(n.id == clash.id for n in new):
                raise AutocodeError(f"the file's {kind} '{item.name}' (id {item.id}) has the name of the project's "
                                    f"{kind} of id {clash.id}", f"give it id {clash.id} in the file to update that "
                                    f"{kind}, or another name to add a new one; nothing was imported", str(path))


def _renamed(before: cb.Codebook, book: cb.Codebook) -> list[str]:
    old = {("theme", t.id): t.name for t in before.themes} | {("code", c.id): c.name for c in before.codes}
    new = [("theme", t.id, t.name) for t in book.themes] + [("code", c.id, c.name) for c in book.codes]
    return [f"{kind} '{old[kind, i]}' -> '{name}'" for kind, i, name in new
            if (kind, i) in old and old[kind, i] != name]


# -- finer decisions, made from the browser review ----------------------------------------------

def rename_candidate(project: Project, cid: int, label: str, coder: str | None = None) -> dict:
    """Give an open candidate a better label before deciding on it."""
    with recorded(project) as conn:
        old = _open_candidate(conn, cid)["label"]
        conn.execute("UPDATE candidates SET label = ? WHERE id = ?", (_name(label, "label"), cid))
        project.log("rename-candidate", _coder(coder), candidates=[cid], old=old, new=label)
    return {"candidate": cid, "label": label}


def remove_utterance(project: Project, cid: int, utterance: int, coder: str | None = None) -> dict:
    """Take one utterance that does not belong out of a candidate."""
    with recorded(project) as conn:
        _take_out(conn, cid, utterance)
        project.log("remove-utterance", _coder(coder), candidates=[cid], utterance=utterance)
    return {"candidate": cid, "utterance": utterance}


def move_utterance(project: Project, cid: int, utterance: int, code: str, coder: str | None = None) -> dict:
    """Take one utterance out of a candidate and code it with another, existing code."""
    coder = _coder(coder)
    with recorded(project) as conn:
        _take_out(conn, cid, utterance)
        target = _code(conn, code)
        _drop_no_code(conn, [utterance], coder)
        conn.execute("INSERT OR IGNORE INTO codings (utterance, code, coder, created_at) VALUES (?, ?, ?, ?)",
                     (utterance, target.id, coder, now()))
        project.log("move-utterance", coder, candidates=[cid], utterance=utterance, code=target.id)
    return {"candidate": cid, "utterance": utterance, "code": target.id}


def _take_out(conn, cid: int, utterance: int) -> None:
    _open_candidate(conn, cid)
    gone = conn.execute("DELETE FROM candidate_members WHERE candidate = ? AND utterance = ?", (cid, utterance))
    if gone.rowcount == 0:
        raise NotFound(f"utterance {utterance} is not in candidate {cid}",
                            "refresh the page: someone may have moved it already")
    _recount(conn, cid)


def _recount(conn, cid: int) -> None:
    conn.execute(
        "UPDATE candidates SET (size, n_documents, n_participants) = (SELECT count(*), count(DISTINCT u.document),"
        " count(DISTINCT u.document || '/' || u.speaker) FROM candidate_members m JOIN utterances u"
        " ON u.id = m.utterance WHERE m.candidate = ?) WHERE id = ?", (cid, cid))


def split(project: Project, cid: int, parts: int = 2, coder: str | None = None) -> list[int]:
    """Re-cluster a candidate's utterances into ``parts`` sub-candidates; the candidate is closed."""
    from . import cluster
    from .corpus import utterances
    from .embed import cached_encode

    if parts < 2:
        raise AutocodeError(f"a split makes at least 2 parts, not {parts}", "split into 2 or more parts")
    with recorded(project) as conn:
        members = utterances(conn, participants_only=False, candidate=_open_candidate(conn, cid)["id"])
        if parts > len(members) // 2:
            raise AutocodeError(f"candidate {cid} has {len(members)} utterances, too few to split into {parts}",
                                "split into fewer parts, or remove single utterances instead")
        X = cached_encode(conn, [u.text for u in members], project.setting("embedding", "model"))
        found = cluster.describe(members, X, _kmeans(X, parts, project.setting("cluster", "seed")))
        cluster.match_codebook(conn, found, project.setting("embedding", "model"))
        new = [cluster.insert_candidate(conn, c) for c in found]
        conn.execute("UPDATE candidates SET status = 'split' WHERE id = ?", (cid,))
        project.log("split", _coder(coder), candidates=[cid], into=new)
    return new


def _kmeans(X, parts: int, seed: int):
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=parts, n_init=10, random_state=seed).fit_predict(X)


def reorder_themes(project: Project, theme_ids: list[str], coder: str | None = None) -> list[str]:
    """Put themes in the order given; themes not named keep their order after them."""
    with recorded(project) as conn:
        current = [t.id for t in cb.load(conn).themes]
        unknown = [t for t in theme_ids if t not in current]
        if unknown:
            raise NotFound(f"there is no theme '{unknown[0]}'", f"use theme ids from: {', '.join(current)}")
        order = list(dict.fromkeys(theme_ids)) + [t for t in current if t not in theme_ids]
        conn.executemany("UPDATE themes SET position = ? WHERE id = ?", list(enumerate(order)))
        project.log("reorder-themes", _coder(coder), order=order)
    return order


def define_code(project: Project, ref: str, definition: str, coder: str | None = None) -> cb.Code:
    with recorded(project) as conn:
        code = _code(conn, ref)
        conn.execute("UPDATE codes SET definition = ? WHERE id = ?", (definition, code.id))
        project.log("define-code", _coder(coder), code=code.id, old=code.definition, new=definition)
    return cb.Code(code.id, code.name, definition, code.theme)


def _refuse_taken(holder, own_id: str, what: str, name: str) -> None:
    """Two codes (or themes) of one name could not be told apart in the codebook or an export."""
    if holder is not None and holder.id != own_id:
        raise Conflict(f"another {what} is already called '{holder.name}' ({holder.id})",
                       "choose another name, or keep using the existing one")


def _name(value: str, what: str) -> str:
    if not value or not value.strip():
        raise AutocodeError(f"the new {what} is empty", f"type a {what} with at least one letter")
    return value.strip()
