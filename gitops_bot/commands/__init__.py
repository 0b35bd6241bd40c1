"""One module per command: parse, call one core function, render."""

from __future__ import annotations

import click

from gitops_bot.commands.bump import bump_command
from gitops_bot.commands.canary import canary_group
from gitops_bot.commands.environment import environment_command
from gitops_bot.commands.history import history_command
from gitops_bot.commands.hold import hold_command, unhold_command
from gitops_bot.commands.promote import promote_command, status_command
from gitops_bot.commands.reconcile import reconcile_command
from gitops_bot.commands.rollback import revert_command, rollback_command
from gitops_bot.commands.validate import validate_command
from gitops_bot.commands.wait import wait_command_cli
from gitops_bot.commands.watch import watch_command

COMMANDS: list[click.Command] = [
    bump_command, environment_command, revert_command, rollback_command, history_command,
    hold_command, unhold_command, canary_group, promote_command, status_command, watch_command,
    validate_command, reconcile_command,
]
COMMANDS.append(wait_command_cli)  # docs/github.md

