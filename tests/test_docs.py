"""The README is tested: the Quick start is two commands, CI runs the second, examples work."""
from __future__ import annotations

import re
import subprocess

from conftest import DATA, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands():
    first, second = quick_start()
    assert "pip install" in first and "autocode demo" in first
    assert "pip install" in second and "pytest" in second


def test_ci_runs_the_readmes_test_command():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "README.md" in script and "sed -n 2p" in script
    extracted = subprocess.run(
        ["bash", "-c", "awk '/^## Quick start/{q=1} q && /^```bash/{b=1; next} b && /^```/{exit} b' README.md | sed -n 2p"],
        cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert extracted == quick_start()[1]


def test_python_example_in_readme_runs():
    code = next(b for b in re.findall(r"```python\n(.*?)```", README, re.S) if "ThemeClassifier" in b)
    namespace: dict = {}
    exec(code, namespace)
    assert list(namespace["clf"].predict(["she showed them recovery is possible"])) == ["hope_recovery"]


def test_readme_codebook_example_matches_the_demo_codebook():
    import yaml

    book = yaml.safe_load((DATA / "codebook.yaml").read_text(encoding="utf-8"))
    ids = {t["id"] for t in book["themes"]} | {c["id"] for t in book["themes"] for c in t["codes"]}
    for ref in re.findall(r"- id: (\w+)", README):
        assert ref in ids


def test_every_command_in_the_readme_exists():
    from typer.main import get_command

    from autocode.cli import app

    known = set(get_command(app).commands)
    used = set(re.findall(r"^autocode ([a-z-]+)", README, re.M))
    assert used and used <= known


def test_every_setting_the_readme_names_exists_and_takes_the_value_shown():
    """`key = value` in the README must be a real autocode.toml setting of the right type."""
    import tomllib

    from autocode.store import DEFAULT_SETTINGS

    shown = re.findall(r"`([a-z_]+ = [^`]+)`", README)
    assert len(shown) >= 4
    for line in shown:
        (key, value), = tomllib.loads(line).items()
        sections = [s for s, keys in DEFAULT_SETTINGS.items() if key in keys]
        assert sections, f"README names a setting autocode does not have: {line}"
        default = DEFAULT_SETTINGS[sections[0]][key]
        assert isinstance(value, type(default)) or isinstance(default, float) and isinstance(value, int), line
