"""What the benchmark scripts share: running autocode's CLI as a researcher would."""
from __future__ import annotations

import subprocess
import sys


def autocode(*args: str) -> str:
    """Run one autocode command; stop the benchmark with its message if it fails."""
    done = subprocess.run([sys.executable, "-m", "autocode.cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"autocode {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout
