from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import responses
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Hypothesis keeps a cache next to the tests unless told otherwise: keep the checkout clean.
if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    _hypothesis_dir = tempfile.mkdtemp(prefix="gitops-bot-hypothesis-")
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _hypothesis_dir
    atexit.register(shutil.rmtree, _hypothesis_dir, True)

from tests.support.env import clean_env
from tests.support.github_mock import GitHubMock
from tests.support.gitrepo import Remote, make_remote

# The one Hypothesis setup: no deadline (a property may run git or parse a large tree), fixtures
# that a property only reads (remote, tmp_path) allowed, and examples kept in that temporary folder
# except on CI: there runs are derandomized so a red build replays, and Hypothesis refuses a
# database with derandomize. Tests set only max_examples.
_on_ci = bool(os.environ.get("CI"))
settings.register_profile(
    "gitops-bot",
    deadline=None,
    database=None
    if _on_ci
    else DirectoryBasedExampleDatabase(Path(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"]) / "examples"),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=_on_ci,
)
settings.load_profile("gitops-bot")

BOT = shutil.which("gitops-bot") or str(Path(sys.executable).with_name("gitops-bot"))


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """A bare Kai GitOps remote over file:// with `main` and `staging` holding the project's flux/ tree."""
    return make_remote(tmp_path / "remote")


@pytest.fixture
def gh() -> Iterator[GitHubMock]:
    """The mocked GitHub API (tests/support/github_mock.py): every endpoint a test registers must be called."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield GitHubMock(mock)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """The mocked GitHub API for tests that register more than a run may call (GitHubMock(rsps) helps)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def bot_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the installed CLI runs with: see tests/support/env.py."""
    return clean_env(home, extra)


RunBot = Callable[..., subprocess.CompletedProcess[str]]


def refused(run_bot: RunBot, remote: Remote, *args: str, code: int = 2) -> str:
    """Run `gitops-bot --repo REMOTE ARGS`, which must be refused: that exit code, no traceback, and
    not a ref of the remote moved. Returns stderr for the caller's own checks."""
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, *args)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert remote.refs() == refs
    return proc.stderr


@pytest.fixture
def run_bot(tmp_path: Path) -> RunBot:
    """Run the installed `gitops-bot` as a user would, with a clean HOME and no ambient tokens."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def run(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BOT, *args], env=bot_env(home, env), cwd=cwd or tmp_path,
                              capture_output=True, text=True, timeout=timeout, check=False)

    return run
