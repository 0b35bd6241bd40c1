"""The project's exceptions. Exit codes are decided here and nowhere else."""

from __future__ import annotations


class GitopsBotError(Exception):
    """Base of every error gitops-bot reports to the user: one line, one exit code."""

    exit_code = 1

    def __init__(self, message: str, *, reported: bool = False):
        super().__init__(message)
        self.reported = reported  # the command already printed its result (JSON) on stdout


class UsageError(GitopsBotError):
    """Bad input on the command line: unknown environment or image, bad tag, bad flag combination."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration file is invalid."""


class ManifestError(UsageError):
    """A manifest cannot be parsed or edited safely; the message carries `file:line`."""


class PolicyError(UsageError):
    """The update policy refuses the change (for example a semver downgrade)."""


class GitError(GitopsBotError):
    """A git command failed; the message names the command (token redacted) and git's own words.

    When the error comes from running git: `command` is its argv with secrets redacted,
    `returncode` its exit code (None: it did not finish) and `stderr` what it said (redacted)."""

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


class RegistryError(GitopsBotError):
    """An image registry could not be reached, or refused a request (network, credentials, 5xx)."""


class ImageNotFound(UsageError):
    """An image tag that a command would write does not exist in its registry."""


class HealthDegraded(GitopsBotError):
    """`watch` saw too many failed health checks."""

    exit_code = 3


class WaitTimeout(GitopsBotError):
    """`wait` / `--wait`: Flux did not report success on every awaited context in time."""


def exit_code_for(err: BaseException) -> int:
    return err.exit_code if isinstance(err, GitopsBotError) else 1
