"""The global options (given before or after the command name) and what a command reads of the run.

Command modules import this, never gitops_bot.cli.app, so that the group and its commands do not
import each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, overload

import click
from click.core import ParameterSource

from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext

if TYPE_CHECKING:  # imported when a command asks for its options (docs/startup.md)
    from gitops_bot.delivery.session import Options

F = TypeVar("F", bound=Callable[..., Any])


_GLOBAL_NAMES = ("config", "repo", "remote_url", "workdir", "retries", "timeout", "output", "dry_run", "verbose")


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Global options may come before or after the command name; the one given last wins."""
    assert param.name is not None
    if ctx.get_parameter_source(param.name) not in (ParameterSource.DEFAULT, None):
        ctx.find_root().meta.setdefault("gitops_bot.options", {})[param.name] = value
    return value


@overload
def global_options(func: F, /) -> F: ...
@overload
def global_options(*, skip: tuple[str, ...]) -> Callable[[F], F]: ...


def global_options(func: F | None = None, /, *, skip: tuple[str, ...] = ()) -> F | Callable[[F], F]:
    """The global options on a command (or the group). `skip` leaves out those the command defines
    itself with another meaning (`wait --timeout S` is how long to wait; the global one is then given
    before the command name)."""
    if func is None:
        return lambda f: _add_global_options(f, skip)
    return _add_global_options(func, skip)


def _add_global_options(func: F, skip: tuple[str, ...]) -> F:
    # Options of every command are declared with plain click.option/click.argument. An empty value
    # (`--remote-url ""`) is refused with exit 2 for all of them, including options added later:
    # `_register` runs gitops_bot.cli.nonempty.refuse_empty over the whole command tree
    # (docs/cli-input.md). Nothing to do per option.
    opts = [
        click.option("--config", "config", type=click.Path(dir_okay=False),
                     help="Configuration file (default: .gitops-bot.yaml of the GitOps repository, "
                          "else built-in defaults)."),
        click.option("--repo", "repo", metavar="OWNER/NAME|URL|PATH",
                     help="The GitOps repository (default: gitops.repository of the config)."),
        click.option("--remote-url", "remote_url", metavar="URL",
                     help="Clone/push URL; the GitHub slug stays --repo."),
        click.option("--workdir", "workdir",
                     type=click.Path(file_okay=False, resolve_path=True),
                     help="Keep the clone (an object store, no work tree) in DIR and fetch into it on later runs, "
                          "instead of a temporary one."),
        click.option("--retries", "retries", type=click.IntRange(0, 100), metavar="N",
                     help="Push attempts after the first rejected one (default 25)."),
        click.option("--timeout", "timeout", type=click.IntRange(min=1), metavar="SECONDS",
                     help="Give up a network operation (git, GitHub API) after SECONDS, and the run's "
                          "network work as a whole after SECONDS in total: exit 1, nothing half-written "
                          "(default 300)."),
        click.option("--output", "output", type=click.Choice(["text", "json"]),
                     help="text (default) or one JSON document on stdout."),
        click.option("--dry-run", "dry_run", is_flag=True, default=None,
                     help="Plan and print the diff; write nothing."),
        click.option("-v", "--verbose", "verbose", is_flag=True, default=None,
                     help="Log git commands and progress on stderr."),
    ]
    opts = [opt for name, opt in zip(_GLOBAL_NAMES, opts, strict=True) if name not in skip]
    for opt in reversed(opts):
        func = opt(func)
    for param in func.__click_params__[-len(opts):]:  # type: ignore[attr-defined]
        param.expose_value = False
        param.callback = _store
        param.is_eager = True
    return func


class Run(NamedTuple):
    """What a run reads of the process environment, read once: credentials and the run context."""

    credentials: Credentials
    context: RunContext

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Run:
        return cls(Credentials.from_env(environ), RunContext.from_env(environ))


def run_of(ctx: click.Context) -> Run:
    """The run main() read (a command invoked without main(), as by click's test runner, reads its own)."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Run) else Run.from_env(os.environ)


def run_credentials(ctx: click.Context) -> Credentials:
    """The run's one Credentials (main() made it), so that a GitHub App token is minted, masked and
    redacted once per run."""
    return run_of(ctx).credentials


def run_context(ctx: click.Context) -> RunContext:
    return run_of(ctx).context


def options(ctx: click.Context) -> Options:
    from gitops_bot.delivery.session import Options

    given = ctx.find_root().meta.get("gitops_bot.options", {})
    return Options(**{k: v for k, v in given.items() if v is not None})
