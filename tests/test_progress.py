"""Progress bars: on a terminal only, quiet with --quiet; Ctrl-C during a long add changes nothing."""
from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time

from typer.testing import CliRunner

from autocode import Project, progress
from autocode.cli import app

from conftest import DATA, snapshot


class Terminal(io.StringIO):
    def isatty(self):
        return True


def on_terminal(monkeypatch) -> Terminal:
    """stderr as a terminal, progress wanted (set in the test body: pytest resets stderr after setup)."""
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(progress, "_wanted", True)
    return screen


def test_a_bar_shows_the_time_left_on_a_terminal(monkeypatch):
    terminal = on_terminal(monkeypatch)
    with progress.step("Finding candidate codes"):
        with progress.bar("Embedding utterances", 10) as advance:
            advance(4)
            time.sleep(0.2)
            advance(4)
    shown = terminal.getvalue()
    assert "Embedding utterances" in shown and "left" in shown and "Finding candidate codes" in shown
    assert progress._live is None  # the display is gone when the step ends


def test_quiet_when_not_a_terminal_or_not_wanted(monkeypatch):
    terminal = on_terminal(monkeypatch)
    monkeypatch.setattr(progress, "_wanted", False)
    with progress.bar("Embedding utterances", 10) as advance:
        advance(10)
    monkeypatch.setattr(progress, "_wanted", True)
    monkeypatch.setattr(Terminal, "isatty", lambda self: False)
    with progress.step("Clustering"):
        pass
    assert terminal.getvalue() == ""


def test_quiet_flag_switches_progress_off(project, monkeypatch):
    monkeypatch.setattr(progress, "_wanted", True)
    result = CliRunner().invoke(app, ["--quiet", "log", "--project", str(project.root)])
    assert result.exit_code == 0 and progress._wanted is False
    CliRunner().invoke(app, ["log", "--project", str(project.root)])
    assert progress._wanted is True


# The real CLI in a subprocess; the only addition is a file touched when encoding starts, so
# the interrupt lands in the middle of the embedding (not during start-up).
RUN_CLI_AND_ANNOUNCE = """
import pathlib, sys
from autocode import embed
flag, real = pathlib.Path(sys.argv[1]), embed.TorchEncoder.encode
def announce(self, texts, batch_size):
    flag.touch()
    return real(self, texts, batch_size)
embed.TorchEncoder.encode = announce
from autocode.cli import app
sys.argv = ["autocode", *sys.argv[2:]]
app()
"""


def long_table(path, n: int = 4000) -> None:
    """Distinct utterances recombined from the demo corpus, enough for many seconds of embedding."""
    lines = [line.split(":", 1)[1].strip() for line in (DATA / "transcripts" / "D01.txt").read_text().splitlines()
             if ":" in line]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["document", "text"])
        for i in range(n):
            w.writerow([f"S{i // 100:02d}", f"{lines[i % len(lines)]} {lines[(i * 7) % len(lines)]} ({i})"])


def test_ctrl_c_during_add_stops_cleanly_and_changes_nothing(project, tmp_path):
    table, started = tmp_path / "many.csv", tmp_path / "encoding-started"
    long_table(table)
    before = snapshot(project)
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI_AND_ANNOUNCE, str(started), "add", str(table),
                             "--project", str(project.root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "AUTOCODE_DEBUG": ""},
                            # a background CI job inherits SIGINT ignored; a terminal does not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()
    time.sleep(0.5)
    out = err = None
    for _ in range(12):  # as a person would press Ctrl-C again if the first press went unseen
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Stopped. Nothing was changed" in err and "Traceback" not in err
    reopened = Project(project.root)
    try:
        assert reopened.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert snapshot(reopened) == before
    finally:
        reopened.close()
