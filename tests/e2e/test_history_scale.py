"""History that reads only what it needs, and reports each unreadable commit once."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from tests.conftest import RunBot
from tests.support.gitrepo import IDENT, Remote, make_remote

BROKEN = "flux/clusters/staging/releases/broken.yaml"


def append_commits(remote: Remote, branch: str, count: int, content: str) -> None:
    """`count` commits on `branch`, each rewriting BROKEN with `content.format(i)`, by fast-import."""
    head = remote.head(branch)
    chunks = []
    for i in range(count):
        message = f"hand edit {i}\n".encode()
        data = content.format(i).encode()
        chunks.append(f"commit refs/heads/{branch}\ncommitter Seed <seed@example.com> {1_700_000_000 + i} +0000\n"
                      .encode() + b"data %d\n%s\n" % (len(message), message)
                      + (f"from {head}\n".encode() if i == 0 else b"")
                      + f"M 100644 inline {BROKEN}\n".encode() + b"data %d\n%s\n\n" % (len(data), data))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=remote.bare, input=b"".join(chunks), check=True,
                   env={**IDENT, "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"})


def test_an_invalid_yaml_file_in_every_commit_is_warned_once_per_commit(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "remote")
    append_commits(remote, "staging", 300, "image: [unclosed {}\n")
    started = time.monotonic()
    bump = run_bot("--repo", remote.url, "--dry-run", "bump", "--env", "staging", "--image", "kai-api-server=abc1234")
    bump_time = time.monotonic() - started
    assert bump.returncode == 2 and f"{BROKEN}:" in bump.stderr  # the tip is invalid: bump refuses

    started = time.monotonic()
    proc = run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging", "--limit", "1")
    history_time = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["deploys"] == []
    warned = re.findall(r"history: ([0-9a-f]{12}) unreadable: .*broken\.yaml:\d+: invalid YAML", proc.stderr)
    assert len(warned) == 300 and len(set(warned)) == 300  # every commit, once
    assert history_time < 10 * bump_time + 10  # generous: about one bump, not 300 re-parses per deepening


def test_history_reads_only_as_far_back_as_the_limit_needs(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "remote")
    append_commits(remote, "staging", 2000, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x{}\n")
    for tag in ("aaa1111", "bbb2222"):
        proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", f"kai-api-server={tag}")
        assert proc.returncode == 0, proc.stderr
    workdir = tmp_path / "work"
    proc = run_bot("--repo", remote.url, "--workdir", str(workdir), "--output", "json", "history",
                   "--env", "staging", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    assert [d["changes"][0]["to"] for d in json.loads(proc.stdout)["deploys"]] == ["bbb2222", "aaa1111"]
    fetched = subprocess.run(["git", "rev-list", "--count", "refs/remotes/origin/staging"], cwd=workdir,
                             capture_output=True, text=True, check=True).stdout
    assert int(fetched) < 500  # of 2,003 commits
