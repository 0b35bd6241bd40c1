"""One module per command: parse, call one core function, render."""

from __future__ import annotations

import click

from gitops_bot.commands.bump import bump_command
from gitops_bot.commands.environment import environment_command

COMMANDS: list[click.Command] = [bump_command, environment_command]
