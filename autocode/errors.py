"""Errors a researcher can act on.

Anything raised as :class:`AutocodeError` is printed by the CLI as plain English, without a
traceback, and the command exits non-zero. Every message says where the problem is and what
to do next, because our users are researchers, not programmers.
"""
from __future__ import annotations


class AutocodeError(Exception):
    """A problem with the input or the project that the researcher can fix."""

    def __init__(self, problem: str, fix: str = "", where: str = ""):
        self.problem, self.fix, self.where = problem, fix, where
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        return f"{text}\nWhat to do: {self.fix}" if self.fix else text


class NotFound(AutocodeError):
    """A named thing (candidate, code, theme, utterance, view) does not exist. The review app
    answers these with 404."""


class Conflict(AutocodeError):
    """The project's state forbids this now: already decided, or nothing to undo. The review
    app answers these with 409."""


def and_list(names: list[str], most: int = 0) -> str:
    """'alice', 'alice and bob', 'alice, bob and zoe'; with ``most``, '... and 2 more' past it."""
    names = [str(n) for n in names]
    if most and len(names) > most:
        return ", ".join(names[:most]) + f" and {len(names) - most} more"
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


def line_of(text: str, offset: int) -> int:
    """1-based line number of a character offset, for messages that point into a file."""
    return text.count("\n", 0, offset) + 1
