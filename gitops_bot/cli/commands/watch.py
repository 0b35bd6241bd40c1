from __future__ import annotations

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options, options, run_context, run_credentials
from gitops_bot.cli.render import emit_json
from gitops_bot.ops.watch import GateRequest, WatchRequest, gate, summarize


@click.command("watch")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose rollout is gated.")
@click.option("--check", "checks", multiple=True, required=True, metavar="URL",
              help="Health URL; 2xx/3xx is healthy. Repeatable.")
@click.option("--checks", "rounds", type=click.IntRange(min=1), default=30, show_default=True,
              help="Rounds of checks.")
@click.option("--interval", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds between rounds (decimals allowed).")
@click.option("--threshold", type=click.IntRange(min=1), default=5, show_default=True,
              help="Failures that mark the rollout degraded; at most --checks x URLs.")
@click.option("--on-failure", type=click.Choice(["abort", "rollback", "none"]), default="none",
              show_default=True, help="abort: canary abort; rollback: rollback --steps 1.")
@click.option("--on-success", type=click.Choice(["promote", "none"]), default="none", show_default=True,
              help="promote: canary promote.")
@global_options
@click.pass_context
def watch_command(ctx: click.Context, env: str, checks: tuple[str, ...], rounds: int, interval: float,
                  threshold: int, on_failure: str, on_success: str) -> Rendered:
    """Health-gate a rollout: exit 3 when degraded, after the --on-failure action.

    Degraded when the failed probes reach --threshold, or when the last round ends with a check
    failing: --on-success runs only after a last round that passed. One progress line per round
    goes to stderr.

    \b
    Example (the pipeline's canary gate):
      gitops-bot watch --env production --check https://api.kai.example.com/health \\
        --checks 30 --interval 10 --threshold 5 --on-failure abort --on-success promote
    """
    opts = options(ctx)
    credentials = run_credentials(ctx)
    actions = ActionsWriter(run_context(ctx), credentials.redact)
    request = GateRequest(WatchRequest(env, checks, rounds, interval, threshold), on_failure, on_success)
    result = gate(opts, credentials, run_context(ctx), request, actions.group)
    health = result.health
    actions.set_outputs({"environment": env, "health-status": health.status})
    actions.summary(f"### gitops-bot watch: {env}\n\n{summarize(health, checks)}\n")
    if opts.output == "json":
        emit_json(health.to_json())
    else:
        click.echo(summarize(health, checks))
    return Rendered(result.exit_code, result.error)
