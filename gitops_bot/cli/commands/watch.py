from __future__ import annotations

import contextlib
from dataclasses import replace

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.ops.canary import CanaryRequest, canary
from gitops_bot.cli.options import global_options, options, run_credentials
from gitops_bot.model.errors import GitopsBotError, HealthDegraded, UsageError
from gitops_bot.cli.render import emit_json
from gitops_bot.ops.rollback import RollbackRequest, rollback
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.ops.watch import WatchRequest, summarize, validate, watch


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
                  threshold: int, on_failure: str, on_success: str) -> None:
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
    request = WatchRequest(env, checks, rounds, interval, threshold)
    validate(request)  # URLs, counts and interval: exit 2 before any clone or probe
    actions_needed = {on_failure, on_success} - {"none"}
    actions = ActionsWriter(redact=credentials.redact)
    with contextlib.ExitStack() as stack:
        session = None
        if actions_needed or opts.config is None:
            # fail fast: config, environment and credentials before the watch window
            session = stack.enter_context(Session(opts, credentials))
            target, _ = session.environment(EnvRequest(env))
            if (actions_needed and target.delivery == "pull-request" and not session.credentials.token
                    and not opts.dry_run):
                raise UsageError(f"{env} delivers by pull request: the --on-failure/--on-success "
                                 f"actions need GITOPS_BOT_TOKEN (or GITHUB_TOKEN)")
        else:  # nothing to write and the configuration is given: no clone needed to know the environment
            opts.base_config().environment(env)
        with actions.group(f"gitops-bot watch {env}: {rounds} round(s) of {len(checks)} check(s)"):
            health = watch(request)
        action = on_failure if health.status == "degraded" else on_success
        failure: GitopsBotError | None = None
        if action != "none" and session is not None:
            try:
                if action == "rollback":
                    result = rollback(session, RollbackRequest(env, steps=1))
                else:
                    result = canary(session, CanaryRequest(env, "abort" if action == "abort" else "promote"))
                label = action if result.changed else f"{action} (nothing to change)"
                if opts.dry_run:
                    label += " (dry run)"
            except GitopsBotError as err:
                failure, label = err, f"{action} failed"
            health = replace(health, action=label)
    actions.set_outputs({"environment": env, "health-status": health.status})
    actions.summary(f"### gitops-bot watch: {env}\n\n{summarize(health, checks)}\n")
    if opts.output == "json":
        emit_json(health.to_json())
    else:
        click.echo(summarize(health, checks))
    if health.status == "degraded":
        extra = f"; the {on_failure} action failed: {failure}" if failure else ""
        why = health.reason or f"threshold {threshold}"
        raise HealthDegraded(f"health degraded: {health.failures} failed checks ({why}){extra}",
                             reported=opts.output == "json")
    if failure is not None:
        failure.reported = opts.output == "json"
        raise failure
