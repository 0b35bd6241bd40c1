from __future__ import annotations

from typing import Any

import click

from gitops_bot.cli.commands._common import delivery_option, pr_options, pr_overrides, run_write
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.ops.revert import RevertRequest, revert


@click.command("revert")
@click.argument("commits", nargs=-1, required=True, metavar="SHA...")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose branch holds them.")
@delivery_option
@wait_options
@pr_options
@global_options
@click.pass_context
def revert_command(ctx: click.Context, /, commits: tuple[str, ...], env: str, delivery: str | None,
                   **pr: Any) -> Rendered:
    """Revert commits on the environment's branch, newest first (merges against their first parent).

    \b
    Example:
      gitops-bot revert 3f2c1ab --env staging
    """
    request = RevertRequest(env, commits, delivery, pr_overrides(**pr))
    return run_write(ctx, lambda session: revert(session, request))
