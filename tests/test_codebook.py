"""The codebook: names matched as people mean them, ids that never collide, imports that say
what they changed."""
from __future__ import annotations

import unicodedata

import pytest

from autocode import codebook as cb
from autocode.errors import AutocodeError, Conflict, NotFound
from autocode.review import add_theme, import_codebook, move_code

from conftest import snapshot


@pytest.mark.parametrize("name, expected", [
    ("Team dynamics", "team_dynamics"), ("Équipe", "equipe"), ("Rôle des pairs", "role_des_pairs"),
    ("Patients’ views", "patients_views"), ("Ωμέγα", "ωμεγα"), ("!!!", "code")])
def test_ids_are_made_from_names_without_losing_letters(name, expected):
    assert cb.slug(name) == expected


def test_names_match_as_a_person_means_them(project):
    book = cb.load(project.conn)
    curly = "Clinicians\u2019 own lived experience"          # as Excel and Word auto-correct it
    assert book.find_code(curly).id == "clinician_disclosure"
    assert book.find_code("  clinicians'   OWN lived experience ").id == "clinician_disclosure"
    assert cb.same_name(unicodedata.normalize("NFD", "Rôle flou"), "Rôle flou")   # macOS's form of ô
    assert book.nearest("Credibility and raport") == "Credibility and rapport"
    assert book.nearest("something else entirely") is None


def test_a_new_theme_never_takes_over_an_existing_one(project):
    """'Team dynamics' makes the id team_dynamics; a theme of another name may already hold it."""
    assert cb.load(project.conn).find_theme("team_dynamics").name == "PSWs in the team"   # the demo codebook's
    theme = add_theme(project, "Team dynamics")
    assert theme.id == "team_dynamics_2"
    names = dict(project.conn.execute("SELECT id, name FROM themes").fetchall())
    assert names["team_dynamics"] == "PSWs in the team" and names["team_dynamics_2"] == "Team dynamics"
    assert add_theme(project, "Été").id == "ete" and add_theme(project, "été!").id == "ete_2"
    with pytest.raises(Conflict) as err:
        add_theme(project, "Another", theme_id="team_dynamics")
    assert err.value.problem == "the theme id 'team_dynamics' is taken, by theme 'PSWs in the team'"


def test_mistyped_names_get_a_suggestion(project):
    with pytest.raises(NotFound, match="did you mean 'Credibility and rapport'"):
        move_code(project, "Credibility and raport", "contribution")
    with pytest.raises(NotFound, match="did you mean 'What lived experience brings'"):
        move_code(project, "credibility", "What lived experience bring")


def test_codebook_import_says_what_it_renamed_and_what_it_kept(project, tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: lived_experience\n    name: Lived experience\n    codes:\n"
                    "      - id: credibility\n        name: Credibility\n", encoding="utf-8")
    result = import_codebook(project, path, "tester")
    assert result["renamed"] == ["theme 'What lived experience brings' -> 'Lived experience'",
                                 "code 'Credibility and rapport' -> 'Credibility'"]
    assert "Hope and recovery" in result["kept"] and "Credibility" not in result["kept"]


def test_codebook_import_refuses_a_second_code_of_the_same_name(project, tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: lived_experience\n    codes:\n      - id: rapport\n"
                    "        name: Credibility and rapport\n", encoding="utf-8")
    before = snapshot(project)
    with pytest.raises(AutocodeError) as err:
        import_codebook(project, path, "tester")
    assert err.value.problem == ("the file's code 'Credibility and rapport' (id rapport) has the name of the "
                                 "project's code of id credibility")
    assert "give it id credibility" in err.value.fix and snapshot(project) == before


def test_codes_without_ids_that_make_one_id_are_named(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: t\n    codes:\n      - Patients' views\n      - Patients\u2019 views\n", encoding="utf-8")
    with pytest.raises(AutocodeError) as err:
        cb.load_yaml(path)
    assert err.value.problem == ("codes 'Patients' views' and 'Patients\u2019 views' both have the id 'patients_views'"
                                 " (made from the name where the file gives none)")


def test_a_codebook_without_ids_updates_the_codes_of_the_same_name(project, tmp_path):
    """Ids made from names may differ from the project's (an older autocode made 'quipe' of
    'Équipe'): a name the project knows keeps the project's id."""
    with project.transaction() as conn:
        conn.execute("INSERT INTO themes (id, name, definition, position) VALUES ('quipe', 'Équipe', '', 99)")
        conn.execute("INSERT INTO codes (id, theme, name, definition, position) VALUES ('r_le', 'quipe', 'Rôle', '', 99)")
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - name: Équipe\n    definition: La vie d'équipe\n    codes:\n"
                    "      - name: Rôle\n        definition: Ce que fait le pair\n", encoding="utf-8")
    result = import_codebook(project, path, "tester")
    book = cb.load(project.conn)
    assert book.find_theme("Équipe").id == "quipe" and book.find_theme("Équipe").definition == "La vie d'équipe"
    assert book.find_code("Rôle").id == "r_le" and book.find_code("Rôle").theme == "quipe"
    assert result["renamed"] == [] and len(book.themes) == len({t.id for t in book.themes})


def test_adopting_ids_never_puts_two_of_the_files_codes_on_one_id(project, tmp_path):
    """'Money' was 'Costs' in the project (id costs); a file naming both keeps both."""
    with project.transaction() as conn:
        conn.execute("INSERT INTO codes (id, theme, name, definition, position) VALUES ('costs', 'contribution', 'Money', '', 99)")
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: contribution\n    codes:\n      - name: Money\n      - name: Costs\n", encoding="utf-8")
    import_codebook(project, path, "tester")
    names = {c.id: c.name for c in cb.load(project.conn).codes}
    assert names["costs"] == "Costs" and "Money" in names.values()


def test_a_theme_name_that_is_another_themes_id_names_that_theme(project):
    with pytest.raises(Conflict) as err:
        add_theme(project, "team_dynamics")
    assert err.value.problem == "a theme 'team_dynamics' already exists (the id of theme 'PSWs in the team')"


@pytest.mark.parametrize("text, problem", [
    ("themes:\n  - id: t\n    codez:\n      - a\n", "has 'codez:', which autocode does not read"),
    ("themes:\n  - id: t\n    codes:\n      - id: a\n        defintion: x\n", "has 'defintion:'"),
    ("themes:\n  - id: t\n    codes:\n      - id: a\n        name: [a, b]\n", "'name' should be text, not list"),
    ("themes:\n  - id: t\n    codes:\n      - id: a\n        description: [a, b]\n", "'description' should be text"),
    ("themes:\n  - id: t\n    codes:\n      - Same\n      - id: other\n        name: same\n", "two codes called 'same'"),
    ("themes:\n  - name: T\n  - name: t\n", "two themes are called 't'"),
    ("themes:\n  - id: t\n    name: One\n  - id: t\n    name: Two\n", "themes 'One' and 'Two' both have the id 't'"),
    ("themes: []\n", "'themes:' list is empty"),
    ("themes:\n  - id: t\n    codes:\n      - id: a\n        subcodes:\n          - b\n", "has 'subcodes:', which autocode does not read"),
])
def test_a_broken_codebook_is_refused_by_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AutocodeError) as err:
        cb.load_yaml(path)
    assert problem in err.value.problem, err.value.problem
    assert str(path) in err.value.message


def test_codebook_import_says_what_it_moved_and_keeps_a_definition_it_does_not_give(project, tmp_path):
    before = cb.load(project.conn).find_code("credibility")
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: contribution\n    codes:\n      - id: credibility\n"
                    "        name: Credibility and rapport\n", encoding="utf-8")
    result = import_codebook(project, path, "tester")
    after = cb.load(project.conn).find_code("credibility")
    assert after.theme == "contribution" and after.definition == before.definition
    assert result["changes"] == ["code 'Credibility and rapport' moved from theme 'What lived experience brings' "
                                 "to 'What PSWs add, and at what cost'"]


def test_an_id_with_a_comma_or_space_is_refused_since_lists_of_ids_could_not_name_it(project, tmp_path):
    from autocode.review import add_theme

    with pytest.raises(AutocodeError, match="the theme id 'a b/c' has spaces or signs in it") as err:
        add_theme(project, "Weird", theme_id="a b/c")
    assert "a_b_c" in err.value.fix
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: t\n    codes:\n      - id: a,b\n        name: A\n", encoding="utf-8")
    with pytest.raises(AutocodeError, match="the code id 'a,b'"):
        cb.load_yaml(path)


def test_description_is_read_as_the_definition(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("themes:\n  - id: t\n    description: A theme\n    codes:\n      - id: a\n        description: A code\n",
                    encoding="utf-8")
    book = cb.load_yaml(path)
    assert book.themes[0].definition == "A theme" and book.codes[0].definition == "A code"


def test_moving_a_code_where_it_already_is_changes_and_logs_nothing(project):
    from autocode.errors import Conflict

    before = snapshot(project)
    with pytest.raises(Conflict, match="already under theme 'What lived experience brings'"):
        move_code(project, "credibility", "lived_experience")
    assert snapshot(project) == before


def test_autocode_coder_names_the_coder_of_a_session(monkeypatch):
    from autocode.store import default_coder

    monkeypatch.setenv("AUTOCODE_CODER", " alice ")
    assert default_coder() == "alice"
    monkeypatch.setenv("AUTOCODE_CODER", "")
    assert default_coder() != ""
