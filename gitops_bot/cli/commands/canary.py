from __future__ import annotations

from typing import Any

import click

from gitops_bot.cli.commands._common import allow_shared_option, delivery_option, pr_options, pr_overrides, run_write
from gitops_bot.cli.commands._registry import registry_options
from gitops_bot.cli.commands._wait_flags import wait_options
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options
from gitops_bot.ops.canary import CanaryRequest, canary


@click.group("canary")
@global_options
def canary_group() -> None:
    """Canary releases through the HelmRelease canary: values (start, promote, abort)."""


def _run(ctx: click.Context, /, request: CanaryRequest) -> Rendered:
    return run_write(ctx, lambda session: canary(session, request))


@canary_group.command("start")
@click.option("--env", "env", required=True, metavar="ENV")
@click.option("--image", "images", multiple=True, required=True, metavar="NAME=TAG",
              help="Image whose canary runs TAG (NAME=TAG@sha256:… pins its digest). Repeatable.")
@click.option("--weight", type=click.IntRange(1, 100), metavar="N", help="Percent of traffic (1-100).")
@delivery_option
@wait_options
@registry_options
@allow_shared_option
@pr_options
@global_options
@click.pass_context
def canary_start(ctx: click.Context, /, env: str, images: tuple[str, ...], weight: int | None,
                 delivery: str | None, verify_image: bool | None, pin_digest: bool | None, allow_shared: bool,
                 **pr: Any) -> Rendered:
    """Enable the canary: canary.enabled true, canary.weight N, canary.image.tag TAG.

    \b
    Example:
      gitops-bot canary start --env production --image web=2.0.0 --weight 10 --pin-digest
    With --pin-digest canary.image.tag becomes TAG@sha256:… (the digest the registry reports);
    `canary promote` then carries tag and digest to image.tag (and image.digest when present).
    """
    return _run(ctx, CanaryRequest(env, "start", images, weight, delivery, pr_overrides(**pr),
                                   verify=verify_image, allow_shared=allow_shared, pin=pin_digest))


def _finish_command(action: str, doc: str) -> click.Command:
    """`canary promote` and `canary abort`: same options, different action."""

    @click.option("--env", "env", required=True, metavar="ENV")
    @click.option("--image", "images", multiple=True, metavar="NAME", help="Only these images. Repeatable.")
    @delivery_option
    @wait_options
    @allow_shared_option
    @pr_options
    @global_options
    @click.pass_context
    def command(ctx: click.Context, /, env: str, images: tuple[str, ...], delivery: str | None,
                allow_shared: bool, **pr: Any) -> Rendered:
        return _run(ctx, CanaryRequest(env, action, images, None, delivery, pr_overrides(**pr), allow_shared))

    command.__doc__ = doc
    return canary_group.command(action)(command)


_finish_command("promote", "Move each enabled canary's tag into the stable image.tag and disable the canary.")
_finish_command("abort", "Disable the canary (canary.enabled false); the stable tag stays.")
