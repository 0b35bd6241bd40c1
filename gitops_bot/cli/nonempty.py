"""Every option or argument given an empty value is refused (exit 2), never taken as "not given".

A script whose `$MIRROR` is unset runs `gitops-bot --remote-url "" …`; falling back to the default
repository would then write to the real one. `refuse_empty` walks a click command tree once, when
the commands are registered, and makes every parameter that takes a value check what the user typed
(or the environment gave) before click converts it: so an option added to any command later gets
the check without doing anything (docs/cli-input.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

_GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def _values(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _values(item)]
    return [value]


def _guard(param: click.Parameter) -> None:
    if getattr(param, "_gitops_bot_nonempty", False):
        return
    cast: Callable[[click.Context, Any], Any] = param.type_cast_value

    def type_cast_value(ctx: click.Context, value: Any) -> Any:
        source = ctx.get_parameter_source(param.name) if param.name else None
        if source in _GIVEN and any(isinstance(v, str) and not v.strip() for v in _values(value)):
            name = param.opts[0] if isinstance(param, click.Option) else (param.human_readable_name or "")
            raise click.BadParameter(
                "must not be empty (an unset shell variable?); give a value or leave the option out",
                ctx=ctx, param=param, param_hint=f"'{name}'",
            )
        return cast(ctx, value)

    param.type_cast_value = type_cast_value  # type: ignore[method-assign]
    param._gitops_bot_nonempty = True  # type: ignore[attr-defined]


def takes_value(param: click.Parameter) -> bool:
    if isinstance(param, click.Option):
        return not (param.is_flag or param.count)
    return isinstance(param, click.Argument)


def refuse_empty(command: click.Command) -> None:
    """Install the empty-value check on every value-taking parameter of `command` and its subcommands."""
    for param in command.params:
        if takes_value(param):
            _guard(param)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            refuse_empty(sub)
