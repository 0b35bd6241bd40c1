"""`gitops-bot wait`, and the report of a `--wait` (its flags are _wait_flags.py)."""

from __future__ import annotations

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.cli.commands._wait_flags import progress
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options, options, run_context, run_credentials
from gitops_bot.cli.render import emit_json
from gitops_bot.delivery.session import Options, Session
from gitops_bot.github.wait import WaitOutcome
from gitops_bot.model.errors import UsageError
from gitops_bot.ops.wait import WaitCommand, wait_command


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
