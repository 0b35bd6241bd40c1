from __future__ import annotations

from typing import Any

import click

from gitops_bot.cli.commands._common import allow_shared_option, delivery_option, pr_options, pr_overrides, run_write
from gitops_bot.cli.commands._registry import registry_options
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.ops.promote import PromoteRequest, promote


@click.command("promote")
@click.option("--from", "source", required=True, metavar="ENV", help="Environment to copy tags from.")
@click.option("--to", "target", required=True, metavar="ENV", help="Environment to update.")
@click.option("--image", "images", multiple=True, metavar="NAME",
              help="Only these images (default: every image present in both). Repeatable.")
@click.option("--allow-downgrade", is_flag=True, help="With policy semver: allow a lower version.")
@click.option("--force", is_flag=True, help="Update held images too.")
@allow_shared_option
@delivery_option
@wait_options
@registry_options
@pr_options
@global_options
@click.pass_context
def promote_command(ctx: click.Context, /, source: str, target: str, images: tuple[str, ...],
                    allow_downgrade: bool, force: bool, delivery: str | None, verify_image: bool | None,
                    pin_digest: bool | None, allow_shared: bool, **pr: Any) -> Rendered:
    """Copy image tags from one environment to another.

    \b
    Example:
      gitops-bot promote --from staging --to production
    """
    request = PromoteRequest(source, target, images, delivery, allow_downgrade, force, pr_overrides(**pr),
                             verify=verify_image, pin=pin_digest, allow_shared=allow_shared)
    return run_write(ctx, lambda session: promote(session, request))
