"""Exit codes, decided in one place: `exit_code` maps any error to the code the process exits with,
and `Rendered` is what a command returns once it has printed a result that carries its own code."""

from __future__ import annotations

from typing import NamedTuple

import click

from gitops_bot.model.errors import ExitCode, GitopsBotError


def exit_code(err: BaseException) -> ExitCode:
    """click's parse errors are bad input; the project's errors name their code; anything else failed."""
    if isinstance(err, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(err, click.exceptions.Abort):
        return ExitCode.FAILED
    if isinstance(err, click.ClickException):  # UsageError, BadParameter, NoSuchOption, MissingParameter...
        return ExitCode.USAGE
    if isinstance(err, GitopsBotError):
        return err.exit_code
    return ExitCode.FAILED


class Rendered(NamedTuple):
    """A command's result is on stdout; exit with `code`, and for a non-zero one print `error` on
    stderr (no JSON error document: the result was the document)."""

    code: ExitCode = ExitCode.OK
    error: str = ""


DONE = Rendered()
