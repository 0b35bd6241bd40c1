"""The `--wait [--wait-timeout S]` flags of push-delivery write commands (the `wait` command is
wait.py). Kept apart so that a command's options load without the GitHub status reader."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gitops_bot.model.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])
WAIT_KEY = "gitops_bot.wait"


def _seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """FloatRange lets `nan` through (it compares false with both bounds): refuse it here, before
    anything is written, not after the push (`wait --timeout nan` is refused by wait_timeout)."""
    if value is not None and math.isnan(value):
        raise click.BadParameter("must be a number of seconds from 0 to 21600, not nan", ctx, param)
    return value


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if param.name == "wait_timeout":
        _seconds(ctx, param, value)
    if value is not None and value is not False:
        ctx.meta.setdefault(WAIT_KEY, {})[param.name] = value
    return value


def wait_options(func: F) -> F:
    """`--wait [--wait-timeout S]` for a push-delivery write command; run_write reads them."""
    for opt in reversed([
        click.option("--wait", "wait", is_flag=True, default=False, expose_value=False, callback=_remember,
                     help="After pushing, wait until Flux reports the commit applied (commit statuses "
                          "matching wait.contexts); exit 3 if it failed, 1 on timeout."),
        click.option("--wait-timeout", "wait_timeout", type=click.FloatRange(0, 6 * 3600), metavar="S",
                     expose_value=False, callback=_remember,
                     help="Seconds to wait with --wait (default: wait.timeout of the config, 600)."),
    ]):
        func = opt(func)
    return func


def wait_flags(ctx: click.Context) -> tuple[bool, float | None]:
    """(--wait given, --wait-timeout) of this command; --wait-timeout alone is refused."""
    given = ctx.meta.get(WAIT_KEY, {})
    if "wait_timeout" in given and not given.get("wait"):
        raise UsageError(f"--wait-timeout needs --wait (see '{ctx.command_path} --help')")
    return bool(given.get("wait")), given.get("wait_timeout")


def progress(line: str) -> None:
    click.echo(f"gitops-bot: {line}", err=True)
