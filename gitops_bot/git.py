"""Every git command goes through `Git.run`: one place for the environment, redaction and errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitops_bot.credentials import Credentials
from gitops_bot.errors import GitError

log = logging.getLogger("gitops_bot.git")

_NETWORK_TIMEOUT = 300.0
_LOCAL_TIMEOUT = 120.0


@dataclass(frozen=True)
class GitResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Git:
    """A git runner bound to a directory, a remote URL's credentials and a progress setting."""

    cwd: Path
    credentials: Credentials = field(default_factory=Credentials)
    url: str = ""
    progress: bool = False

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG_")}
        env.update({"LC_ALL": "C", "GIT_ADVICE": "0"})
        env.update(self.credentials.git_env(self.url))
        return env

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        network: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> GitResult:
        """Run `git ARGS` in cwd. Errors carry the command, exit code and stderr, token redacted."""
        cmd = ("git", *args)
        env = self.env()
        if extra_env:
            env.update(extra_env)
        log.debug("$ %s", self.credentials.redact(" ".join(cmd)))
        try:
            proc = subprocess.Popen(
                cmd, cwd=self.cwd, env=env, text=True, encoding="utf-8", errors="replace",
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
        except OSError as err:
            raise GitError(f"cannot run git: {err.strerror}") from None
        err_lines: list[str] = []
        reader = threading.Thread(target=self._drain, args=(proc, err_lines, network), daemon=True)
        reader.start()
        try:
            stdout, _ = proc.communicate(stdin, timeout=_NETWORK_TIMEOUT if network else _LOCAL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise GitError(f"{self._describe(cmd)} timed out") from None
        finally:
            reader.join()
        result = GitResult(cmd, proc.returncode, stdout, self.credentials.redact("".join(err_lines)))
        if check and result.returncode != 0:
            raise GitError(self.failure(result))
        return result

    def _drain(self, proc: subprocess.Popen[str], sink: list[str], network: bool) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sink.append(line)
            if network and self.progress:
                sys.stderr.write(self.credentials.redact(line))
                sys.stderr.flush()

    def _describe(self, cmd: Sequence[str]) -> str:
        shown = [a for a in cmd if not a.startswith("--filter")]
        return self.credentials.redact(" ".join(shown[:4]))

    def failure(self, result: GitResult) -> str:
        lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith(("hint:", "warning: filtering not"))]
        detail = "; ".join(lines[-3:]) or f"exit code {result.returncode}"
        return f"{self._describe(result.args)} failed (exit {result.returncode}): {detail}"

    def out(self, *args: str, network: bool = False) -> str:
        return self.run(*args, network=network).stdout.strip()
