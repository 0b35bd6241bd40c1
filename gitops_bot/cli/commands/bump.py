from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gitops_bot.cli.commands._common import allow_shared_option, delivery_option, pr_options, pr_overrides, run_write
from gitops_bot.cli.commands._registry import registry_options
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.delivery.session import EnvRequest
from gitops_bot.model.errors import UsageError

if TYPE_CHECKING:
    from gitops_bot.delivery.result import WriteResult
    from gitops_bot.delivery.session import Session


@click.command("bump")
@click.option("--env", "env", metavar="ENV", help="Environment to update.")
@click.option("--ref", metavar="REF", help="App-repo ref (e.g. refs/heads/main) whose environment to update.")
@click.option("--image", "images", multiple=True, metavar="NAME=TAG",
              help="Image and its new tag; NAME alone takes --tag; NAME@sha256:… pins a digest. Repeatable.")
@click.option("--tag", metavar="TAG",
              help="Tag for --image NAME without =TAG (and for every alias if no --image).")
@delivery_option
@wait_options
@click.option("--allow-downgrade", is_flag=True, help="With policy semver: allow a lower version.")
@click.option("--allow-missing", is_flag=True, help="Skip images that match nothing instead of failing.")
@click.option("--force", is_flag=True, help="Update held images too.")
@allow_shared_option
@click.option("--message", metavar="TEMPLATE",
              help="Commit subject; {env} and {subject} (the default subject) are replaced, {{ and }} "
                   "are literal braces, anything else in braces is refused.")
@registry_options
@pr_options
@global_options
@click.pass_context
def bump_command(ctx: click.Context, /, env: str | None, ref: str | None, images: tuple[str, ...],
                 tag: str | None, delivery: str | None, allow_downgrade: bool, allow_missing: bool,
                 force: bool, message: str | None, verify_image: bool | None, pin_digest: bool | None,
                 allow_shared: bool, **pr: Any) -> Rendered:
    """Set image tags in one environment, then commit and push (or open a PR).

    \b
    Examples:
      gitops-bot bump --env staging --image kai-api-server=5d6e7f8
      gitops-bot bump --ref refs/heads/main --image api=1.4.2 --image worker=1.4.2
      gitops-bot bump --env staging --tag 5d6e7f8 --image kai-api-server --image kai-coordinator
      gitops-bot bump --env production --image kai-api-server=1.4.2 --verify-image --pin-digest
    """
    if bool(env) == bool(ref):
        raise UsageError(f"give exactly one of --env ENV or --ref REF (see '{ctx.command_path} --help')")
    target = EnvRequest(env, ref)
    overrides = pr_overrides(**pr)

    def core(session: Session) -> WriteResult:
        # imported while the environment's branch is fetched (run_write's prefetch, docs/startup.md)
        from gitops_bot.ops.bump import BumpRequest, bump

        return bump(session, BumpRequest(
            target=target, images=images, tag=tag, delivery=delivery, allow_downgrade=allow_downgrade,
            allow_missing=allow_missing, force=force, message=message, pr=overrides, verify=verify_image,
            pin=pin_digest, allow_shared=allow_shared,
        ))

    return run_write(ctx, core, prefetch=target)
