"""Options and plumbing shared by the command modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.cli.commands._wait_flags import progress, wait_flags
from gitops_bot.cli.exits import DONE, Rendered
from gitops_bot.cli.options import options, run_context, run_credentials
from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.session import EnvRequest, Options, Session

if TYPE_CHECKING:
    from gitops_bot.delivery.result import WriteResult

F = TypeVar("F", bound=Callable[..., Any])

delivery_option = click.option(
    "--delivery", type=click.Choice(["push", "pull-request"]),
    help="Override the environment's delivery: push to its branch, or open/update a pull request.",
)


allow_shared_option = click.option(
    "--allow-shared", is_flag=True,
    help="Also edit a Helm values file that another environment on the same branch reads "
         "(by default refused: the change would deploy there too).",
)


def pr_options(func: F) -> F:
    """Pull-request flags; they add to (labels, reviewers) or override (draft, auto-merge) the config."""
    for opt in reversed([
        click.option("--label", "labels", multiple=True, metavar="LABEL", help="PR label. Repeatable."),
        click.option("--reviewer", "reviewers", multiple=True, metavar="USER",
                     help="PR reviewer. Repeatable."),
        click.option("--team-reviewer", "team_reviewers", multiple=True, metavar="TEAM",
                     help="PR team reviewer (slug). Repeatable."),
        click.option("--draft/--no-draft", default=None, help="Open the PR as a draft."),
        click.option("--auto-merge", type=click.Choice(["merge", "squash", "rebase"]),
                     help="Enable auto-merge with this method (where the repository allows it)."),
    ]):
        func = opt(func)
    return func


def pr_overrides(labels: tuple[str, ...] = (), reviewers: tuple[str, ...] = (),
                 team_reviewers: tuple[str, ...] = (), draft: bool | None = None,
                 auto_merge: str | None = None) -> PullRequestOverrides:
    return PullRequestOverrides(labels, reviewers, team_reviewers, draft, auto_merge)


def run_write(ctx: click.Context, core: Callable[[Session], WriteResult],
              prefetch: EnvRequest | None = None) -> Rendered:
    """Open a session, run a write command's core function, render its result (and the --wait outcome's
    exit code).

    With `prefetch`, that environment's branch is fetched in the background from the moment the
    session exists, while the modules of the run load (docs/startup.md): `core` imports its
    use-case module itself, and the rendering and wait modules are imported here, after the fetch
    has started.
    """
    opts: Options = options(ctx)
    credentials = run_credentials(ctx)
    waiting, wait_timeout = wait_flags(ctx)  # --wait (docs/github.md)
    actions = ActionsWriter(run_context(ctx), credentials.redact)

    def pushed(result: WriteResult) -> None:  # the wait failed after the push: leave commit-sha for later steps
        actions.set_outputs({"environment": result.environment, "changed": "true", "commit-sha": result.commit or ""})

    with Session(opts, credentials, run_context(ctx)) as session:
        if prefetch is not None:
            session.prefetch(prefetch)
        from gitops_bot.cli.commands.wait import report_wait
        from gitops_bot.cli.render import write_result
        from gitops_bot.ops.wait import write_then_wait

        result = write_then_wait(session, core, waiting, wait_timeout, progress, pushed)
    write_result(result, opts, actions)
    if result.wait is not None:
        return report_wait(result.wait, result.environment, opts, actions)
    return DONE
