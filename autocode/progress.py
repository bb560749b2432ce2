"""Progress bars for the long steps, on stderr, only when someone is watching.

Off by default, so library use and scripts stay quiet; the CLI switches it on unless
``--quiet`` is given, and it stays off whenever stderr is not a terminal (pipes, logs, CI).
A stage reports progress with ``with bar("Embedding", total) as advance: advance(n)``, or
``with step("Clustering"):`` for work it cannot count; both cost nothing when quiet. Steps
inside steps share one display, one line each.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

_wanted = False
_live = None  # the one rich Progress on screen, while any step runs


def enable(on: bool = True) -> None:
    """Show progress from now on (when stderr is a terminal)."""
    global _wanted
    _wanted = on


def showing() -> bool:
    return _wanted and sys.stderr.isatty()


@contextmanager
def bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar with the time left, for ``total`` units of work; yields ``advance(n)``."""
    if not showing() or total <= 0:
        yield lambda n=1: None
        return
    with _task(description, total) as (live, task):
        yield lambda n=1: live.advance(task, n)


@contextmanager
def step(description: str) -> Iterator[None]:
    """A spinner with the time taken so far, for work that cannot be counted."""
    if not showing():
        yield
        return
    with _task(description, None):
        yield


@contextmanager
def _task(description: str, total: int | None):
    global _live
    owner = _live is None
    if owner:
        _live = _new_progress()
        _live.start()
    task = _live.add_task(description, total=total)
    try:
        yield _live, task
    finally:
        _live.remove_task(task)
        if owner:
            _live.stop()
            _live = None


def _new_progress():
    from rich.console import Console
    from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn
    from rich.text import Text

    class TimeColumn(ProgressColumn):
        """'120/800, about 0:00:41 left' for counted work, 'for 0:00:12' otherwise."""

        def render(self, task):
            if task.total is None:
                return Text(f"for {_clock(task.elapsed)}", style="dim")
            left = task.time_remaining
            when = f"about {_clock(left)} left" if left is not None else "estimating time left"
            return Text(f"{task.completed:.0f}/{task.total:.0f}, {when}", style="dim")

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeColumn(),
                    console=Console(file=sys.stderr, force_terminal=True), transient=True)


def _clock(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
