from __future__ import annotations

import click

from gitops_bot.cli.commands._common import delivery_option, run_write
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.ops.hold import HoldRequest, hold


@click.command("hold")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose branch holds the pin.")
@click.option("--image", "images", multiple=True, required=True, metavar="NAME", help="Image to hold. Repeatable.")
@click.option("--reason", required=True, metavar="TEXT", help="Why; shown when bump skips the image.")
@delivery_option
@wait_options
@global_options
@click.pass_context
def hold_command(ctx: click.Context, env: str, images: tuple[str, ...], reason: str,
                 delivery: str | None) -> Rendered:
    """Pin images so that bump and promote leave them alone (until unhold or --force)."""
    return run_write(ctx, lambda session: hold(session, HoldRequest(env, images, reason, delivery)))


@click.command("unhold")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose branch holds the pin.")
@click.option("--image", "images", multiple=True, required=True, metavar="NAME",
              help="Held image to release. Repeatable.")
@delivery_option
@wait_options
@global_options
@click.pass_context
def unhold_command(ctx: click.Context, env: str, images: tuple[str, ...], delivery: str | None) -> Rendered:
    """Release held images, so that automated bumps move them again."""
    return run_write(ctx, lambda session: hold(session, HoldRequest(env, images, None, delivery)))
