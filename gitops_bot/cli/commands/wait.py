"""`gitops-bot wait`, and the `--wait` flags of push-delivery write commands."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options, options, run_context, run_credentials
from gitops_bot.cli.render import emit_json
from gitops_bot.delivery.session import Options, Session
from gitops_bot.github.wait import WaitOutcome
from gitops_bot.model.errors import UsageError
from gitops_bot.ops.wait import WaitCommand, wait_command

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


def report_wait(outcome: WaitOutcome, environment: str, opts: Options, actions: ActionsWriter,
                summarize: bool = True) -> Rendered:
    """Outputs and text for a finished wait; exit 3 on a Flux failure, 1 on a timeout (result printed)."""
    actions.set_outputs({"wait-state": outcome.state, "health-status": outcome.health_status})
    if summarize:
        actions.summary(f"Flux: {outcome.summary()}\n")
    if opts.output != "json":
        lines = [f"  {report.context}: {report.state}{' - ' + report.description if report.description else ''}"
                 for report in outcome.contexts]
        if lines:  # what status posters wrote: shown, never obeyed as workflow commands
            click.echo(actions.untrusted("\n".join(lines)).rstrip("\n"), err=True)
        click.echo(actions.untrusted(f"{environment}: {outcome.summary()}"))
    return Rendered(outcome.exit_code, outcome.error(environment))


@click.command("wait")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose branch holds the commit.")
@click.option("--commit", "commit", metavar="SHA", help="Commit to wait for (default: the branch's head).")
@click.option("--timeout", "timeout", type=click.FloatRange(0, 6 * 3600), metavar="S",
              help="Seconds to wait (default: wait.timeout of the config, 600).")
@global_options(skip=("timeout",))  # its own --timeout is how long to wait
@click.pass_context
def wait_command_cli(ctx: click.Context, /, env: str, commit: str | None, timeout: float | None) -> Rendered:
    """Wait until Flux has applied a commit of an environment's branch.

    Polls the commit's statuses and check runs (GitHub API) until every context matching
    wait.contexts (default kustomization/*, as Flux's notification-controller posts them)
    succeeded: exit 0; a failure: exit 3 (health degraded); timeout: exit 1. A newer head of
    the branch that contains the commit counts too.

    \b
    Examples:
      gitops-bot wait --env staging
      gitops-bot wait --env production --commit 3f2c1ab --timeout 900
    """
    opts = options(ctx)
    credentials = run_credentials(ctx)
    actions = ActionsWriter(run_context(ctx), credentials.redact)
    if commit is not None and not commit.strip():
        raise UsageError("--commit needs a commit SHA")
    with Session(opts, credentials, run_context(ctx)) as session:
        outcome = wait_command(session, WaitCommand(env, commit, timeout), progress)
        branch = session.config.environment(env).branch
    actions.set_outputs({"environment": env, "commit-sha": outcome.commit})
    actions.summary(f"### gitops-bot wait: {env}\n\n{outcome.summary()}\n")
    if opts.output == "json":
        emit_json({"command": "wait", "environment": env, "branch": branch, "commit": outcome.commit,
                   "health_status": outcome.health_status, "wait": outcome.to_json()})
    return report_wait(outcome, env, opts, actions, summarize=False)
