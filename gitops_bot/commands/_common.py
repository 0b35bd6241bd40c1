"""Options and plumbing shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from gitops_bot.actions import ActionsWriter
from gitops_bot.cli import options
from gitops_bot.credentials import Credentials
from gitops_bot.render import write_result
from gitops_bot.result import WriteResult
from gitops_bot.session import Options, Session

F = TypeVar("F", bound=Callable[..., Any])

delivery_option = click.option(
    "--delivery", type=click.Choice(["push", "pull-request"]),
    help="Override the environment's delivery: push to its branch, or open/update a pull request.",
)


def run_write(ctx: click.Context, core: Callable[[Session], WriteResult]) -> None:
    """Open a session, run a write command's core function, render its result."""
    opts: Options = options(ctx)
    credentials = Credentials.from_env()
    with Session(opts, credentials) as session:
        result = core(session)
    write_result(result, opts, ActionsWriter(redact=credentials.redact))
