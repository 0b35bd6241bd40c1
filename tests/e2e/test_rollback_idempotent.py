"""rollback end to end: running the same rollback again changes nothing."""

from __future__ import annotations

from tests.conftest import RunBot
from tests.support.gitrepo import Remote

API = "flux/clusters/staging/releases/api-server.yaml"


def test_running_the_same_rollback_twice_changes_nothing_the_second_time(remote: Remote, run_bot: RunBot) -> None:
    for tag in ("good1", "bad2"):
        assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                       f"kai-api-server={tag}").returncode == 0
    for _ in range(2):
        proc = run_bot("--repo", remote.url, "rollback", "--env", "staging", "--steps", "1")
        assert proc.returncode == 0, proc.stderr
        assert b"tag: good1" in remote.show("staging", API)
    assert "already up to date" in proc.stdout  # a result: on stdout
    assert "rolled back to" in remote.show("staging", ".gitops-bot/holds.yaml").decode()
