"""The project's exceptions and its exit codes. Each exception class names its ExitCode;
gitops_bot.cli.exits.exit_code is the one mapping from any error to the code the process exits with."""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """What the process exits with (README and docs: 0 done, 1 failed, 2 bad input, 3 degraded)."""

    OK = 0
    FAILED = 1  # at run time: git, network, GitHub API, revert conflict, timeout
    USAGE = 2  # bad input: usage, configuration, manifests, tags, unknown environment or image
    DEGRADED = 3  # health degraded (`watch`, `wait`, `--wait`)
    INTERRUPTED = 130  # SIGINT / SIGTERM (the shell's 128 + SIGINT)


class GitopsBotError(Exception):
    """Base of every error gitops-bot reports to the user: one line, one exit code. A subclass
    names its ExitCode where it differs from its base's."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED


class UsageError(GitopsBotError):
    """Bad input on the command line: unknown environment or image, bad tag, bad flag combination."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """The configuration file is invalid."""


class ManifestError(UsageError):
    """A manifest cannot be parsed or edited safely; the message carries `file:line`."""


class PolicyError(UsageError):
    """The update policy refuses the change (for example a semver downgrade)."""


class ImageNotFound(UsageError):
    """An image tag that a command would write does not exist in its registry."""


class GitError(GitopsBotError):
    """A git command failed; the message names the command (token redacted) and git's own words.

    When the error comes from running git: `command` is its argv with secrets redacted,
    `returncode` its exit code (None: it did not finish) and `stderr` what it said (redacted)."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str, *, command: tuple[str, ...] = (), returncode: int | None = None,
                 stderr: str = ""):
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


class PushRejected(GitError):
    """The remote refused a push for a reason other than a race (hook, branch protection)."""


class RevertConflict(GitError):
    """A revert does not apply cleanly."""


class GitHubError(GitopsBotError):
    """The GitHub API refused or failed a request."""

    exit_code = ExitCode.FAILED


class RegistryError(GitopsBotError):
    """An image registry could not be reached, or refused a request (network, credentials, 5xx)."""

    exit_code = ExitCode.FAILED
