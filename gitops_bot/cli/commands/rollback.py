from __future__ import annotations

from typing import Any

import click

from gitops_bot.cli.commands._common import allow_shared_option, delivery_option, pr_options, pr_overrides, run_write
from gitops_bot.cli.commands._registry import registry_options
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.model.errors import UsageError
from gitops_bot.ops.rollback import RollbackRequest, rollback


@click.command("rollback")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment to roll back.")
@click.option("--steps", type=click.IntRange(min=1), metavar="N", help="Go back N deploys.")
@click.option("--to", "to", metavar="SHA", help="Restore the image references as they were at SHA.")
@click.option("--hold/--no-hold", default=True, show_default=True,
              help="Hold the images moved back, so that the next automated bump does not undo it.")
@delivery_option
@wait_options
@registry_options
@allow_shared_option
@pr_options
@global_options
@click.pass_context
def rollback_command(ctx: click.Context, /, env: str, steps: int | None, to: str | None, hold: bool,
                     delivery: str | None, verify_image: bool | None, pin_digest: bool | None,
                     allow_shared: bool, **pr: Any) -> Rendered:
    """Restore an environment's image tags as one new commit (other edits stay).

    \b
    Examples:
      gitops-bot rollback --env production --steps 1
      gitops-bot rollback --env staging --to 3f2c1ab
      gitops-bot rollback --env production --steps 1 --verify-image --pin-digest
    Without --pin-digest the old values come back exactly as written; with it, each restored
    tag also gets the digest its registry reports now.
    Release the hold once fixed:  gitops-bot unhold --env staging --image kai-api-server
    """
    if (steps is None) == (to is None):
        raise UsageError(f"give exactly one of --steps N or --to SHA (see '{ctx.command_path} --help')")
    request = RollbackRequest(env, steps, to, hold, delivery, pr_overrides(**pr), verify=verify_image,
                              allow_shared=allow_shared, pin=pin_digest)
    return run_write(ctx, lambda session: rollback(session, request))
