from __future__ import annotations

from typing import Any

import click

from gitops_bot.cli.commands._common import allow_shared_option, delivery_option, pr_options, pr_overrides, run_write
from gitops_bot.cli.commands._registry import registry_options
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.ops.reconcile import ReconcileRequest, reconcile


@click.command("reconcile")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment to update.")
@click.option("--image", "images", multiple=True, metavar="NAME",
              help="Only this image (a policies: key, an ImagePolicy NAMESPACE:NAME or an image name). "
                   "Repeatable; default: every image with a policy.")
@delivery_option
@wait_options
@click.option("--allow-downgrade", is_flag=True,
              help="Let a semver policy move an image to a lower version than it has.")
@click.option("--force", is_flag=True, help="Update held images too.")
@registry_options
@allow_shared_option
@pr_options
@global_options
@click.pass_context
def reconcile_command(ctx: click.Context, /, env: str, images: tuple[str, ...], delivery: str | None,
                      allow_downgrade: bool, force: bool, verify_image: bool | None, pin_digest: bool | None,
                      allow_shared: bool, **pr: Any) -> Rendered:
    """Set each image that has a policy to the newest registry tag the policy allows.

    Policies are the policies: section of the configuration and the environment's Flux
    ImagePolicy/ImageRepository objects, with Flux's semantics (semver range, alphabetical or
    numerical order, filter-tags pattern + extract). Held images are skipped; a semver policy does
    not downgrade; a policy that matches no tag is listed under skipped. Run it on a schedule to
    replace Flux's in-cluster image automation.

    \b
    Examples:
      gitops-bot reconcile --env staging
      gitops-bot --dry-run reconcile --env production --image kai-api-server --pin-digest
    """
    request = ReconcileRequest(env, images, delivery, allow_downgrade, force, pr_overrides(**pr),
                               verify=verify_image, pin=pin_digest, allow_shared=allow_shared)
    return run_write(ctx, lambda session: reconcile(session, request))
