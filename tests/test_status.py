"""``autocode status``: where a project stands, and the step that comes next."""
from __future__ import annotations

from typer.testing import CliRunner

from autocode import Project
from autocode.cli import app
from autocode.status import project_status


def test_an_empty_project_starts_with_adding_transcripts(tmp_path):
    p = Project.create(tmp_path / "p")
    s = project_status(p)
    assert s["transcripts"] == 0 and s["classifier"] is None and s["next"][0] == "autocode add FILES"


def test_a_coded_project_without_a_classifier_is_told_to_train_its_main_coder(demo_project):
    s = project_status(demo_project)
    assert list(s["coders"])[0] == "alice" and s["next"][0] == "autocode train --coder alice"


def test_after_training_new_codings_and_unsuggested_transcripts_come_next(review_project):
    p = review_project
    s = project_status(p)
    assert s["classifier"]["coder"] == "alice" and s["undecided"] > 0
    assert s["next"][0] == "autocode next" or s["next"][0].startswith("autocode suggest --documents")
    with p.transaction() as conn:
        conn.execute("INSERT INTO codings (utterance, code, coder, created_at) SELECT id, '', 'alice', 'now' FROM "
                     "utterances WHERE document = 'D08' AND is_interviewer = 0 LIMIT 3")
    s = project_status(p)
    assert s["classifier"]["codings_since"] == 3 and s["next"][0] == "autocode train --coder alice"
    assert "3 codings since" in s["next"][1]


def test_the_command_prints_every_stage_and_the_next_step(review_project):
    result = CliRunner().invoke(app, ["status", "--project", str(review_project.root)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for words in ("Transcripts: 8", "Codebook: 5 themes", "Coders: alice", "Classifier: learnt from alice", "Next: autocode"):
        assert words in result.output


def test_a_classifier_from_before_its_last_coding_was_kept_is_not_called_stale(review_project):
    import json

    p = review_project
    with p.transaction() as conn:
        row = conn.execute("SELECT id, metrics FROM classifiers ORDER BY id DESC").fetchone()
        metrics = {k: v for k, v in json.loads(row["metrics"]).items() if k != "last_coding"}
        conn.execute("UPDATE classifiers SET metrics = ? WHERE id = ?", (json.dumps(metrics), row["id"]))
    assert project_status(p)["classifier"]["codings_since"] == 0
