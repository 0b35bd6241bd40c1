"""A click group that imports a command's module only when that command runs (docs/startup.md).

`gitops-bot --help` lists every command from the one-line summaries in the command table, and
`gitops-bot environment` imports the environment command alone: none of the YAML editor, git,
GitHub or registry modules that the other commands pull in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

import click


class LazyGroup(click.Group):
    """Commands named in `table` (name -> ("module:attribute", summary)) load on first use.

    `summary` is the first paragraph of the command's help: what `--help` of the group shows
    without importing the command. Every loaded command goes through `prepare` once (the
    empty-value check of gitops_bot.cli.nonempty).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.table: Mapping[str, tuple[str, str]] = {}
        self.prepare: Callable[[click.Command], None] = lambda command: None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.table})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self.commands.get(cmd_name) or self.load(cmd_name)

    def load(self, name: str) -> click.Command | None:
        """Import the command `name` names in the table and add it to the group (None if unknown)."""
        if name not in self.table:
            return None
        module, _, attribute = self.table[name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command) or command.name != name:
            raise TypeError(f"{self.table[name][0]} is not the click command {name!r}")
        self.prepare(command)
        self.add_command(command)
        return command

    def load_all(self) -> None:
        for name in self.table:
            if name not in self.commands:
                self.load(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `--help`: summaries from the table for commands not loaded yet."""
        rows = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in names:
            command = self.commands.get(name) or click.Command(name, help=self.table[name][1])
            if not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
