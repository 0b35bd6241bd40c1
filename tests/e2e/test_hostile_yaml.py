"""Hostile YAML in the repository: bounded work, exit 2 naming the file, nothing written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitops_bot.manifests.compose import MAX_DEPTH, MAX_FILE_BYTES
from tests.conftest import RunBot, refused
from tests.support.builders import helmrelease
from tests.support.gitrepo import make_remote

FILE = "flux/clusters/staging/releases/hostile.yaml"
HEAD = helmrelease("kai-api-server")


def bomb(levels: int) -> bytes:
    lines = ["    l0: &l0 [" + ", ".join(["kai-api-server"] * 9) + "]"]
    lines += [f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return (HEAD + "\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("content", "message"), [
    pytest.param(bomb(8), "aliases expand to more than", id="8-level alias bomb"),
    pytest.param((HEAD + "    x: " + "[" * (MAX_DEPTH + 10) + "]" * (MAX_DEPTH + 10) + "\n").encode(),
                 f"nested more than {MAX_DEPTH} levels deep", id="deep nesting"),
    pytest.param(HEAD.encode() + b"    kai-api-server: " + b"x" * MAX_FILE_BYTES + b"\n",
                 f"over the limit of {MAX_FILE_BYTES} bytes", id="oversized file"),
])
@pytest.mark.parametrize("command", [
    ("bump", "--env", "staging", "--image", "kai-api-server=abc1234"),
    ("validate", "--env", "staging"),
    ("status", "--env", "staging"),
])
def test_hostile_yaml_is_refused_quickly_naming_the_file(tmp_path: Path, run_bot: RunBot, content: bytes,
                                                        message: str, command: tuple[str, ...]) -> None:
    remote = make_remote(tmp_path / "remote", extra={FILE: content})
    started = time.monotonic()
    stderr = refused(run_bot, remote, *command)
    assert time.monotonic() - started < 30  # generous: the work is bounded, not 9^8 nodes
    assert f"{FILE}:" in stderr and message in stderr
    assert "internal error" not in stderr
