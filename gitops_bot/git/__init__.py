"""Every git command the project runs, through one runner (docs/decisions/0001-git-as-raw-commands.md)."""
