"""One module per command: parse, call one core function, render.

The table names each command's module and its one-line summary (the first paragraph of its help);
gitops_bot.cli.lazygroup imports a module only when its command runs (docs/startup.md).
tests/unit/cli/test_startup.py checks that every entry loads and that each summary matches the command's help.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "bump": ("gitops_bot.cli.commands.bump:bump_command",
             "Set image tags in one environment, then commit and push (or open a PR)."),
    "environment": ("gitops_bot.cli.commands.environment:environment_command",
                    "Print the environment REF deploys to (exit 2 if none). Reads only the configuration."),
    "revert": ("gitops_bot.cli.commands.revert:revert_command",
               "Revert commits on the environment's branch, newest first (merges against their first parent)."),
    "rollback": ("gitops_bot.cli.commands.rollback:rollback_command",
                 "Restore an environment's image tags as one new commit (other edits stay)."),
    "history": ("gitops_bot.cli.commands.history:history_command",
                "The deploys of an environment, newest first, with the image changes of each."),
    "hold": ("gitops_bot.cli.commands.hold:hold_command",
             "Pin images so that bump and promote leave them alone (until unhold or --force)."),
    "unhold": ("gitops_bot.cli.commands.hold:unhold_command",
               "Release held images, so that automated bumps move them again."),
    "canary": ("gitops_bot.cli.commands.canary:canary_group",
               "Canary releases through the HelmRelease canary: values (start, promote, abort)."),
    "promote": ("gitops_bot.cli.commands.promote:promote_command",
                "Copy image tags from one environment to another."),
    "status": ("gitops_bot.cli.commands.status:status_command",
               "Image x environment table of current tags; images whose tags differ are marked as drift."),
    "watch": ("gitops_bot.cli.commands.watch:watch_command",
              "Health-gate a rollout: exit 3 when degraded, after the --on-failure action."),
    "validate": ("gitops_bot.cli.commands.validate:validate_command",
                 "Check every manifest of the environment; exit 2 with file:line for each problem."),
    "reconcile": ("gitops_bot.cli.commands.reconcile:reconcile_command",
                  "Set each image that has a policy to the newest registry tag the policy allows."),
}
COMMANDS["wait"] = ("gitops_bot.cli.commands.wait:wait_command_cli",  # docs/github.md
                    "Wait until Flux has applied a commit of an environment's branch.")
