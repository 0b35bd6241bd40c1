"""A push to an environment's branch is leased on its base (delivery/push.py, docs/commands.md):
a branch that moved after the fetch is seen in the server's advertisement, so a lost race costs no
lookup of the winner's commit, which the partial clone would fetch. With real git over file://."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_bot.delivery.push import Applied, deliver_push
from gitops_bot.delivery.session import EnvRequest, Options, Session
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext
from tests.support.gitrepo import Remote

API = "flux/clusters/staging/releases/api-server.yaml"


def _children(events: list[dict[str, object]], parent: str) -> list[list[str]]:
    """The argv of every process started under the process whose argv[1] is `parent`."""
    sids = [str(e["sid"]) for e in events if e["event"] == "start" and list(e["argv"])[1:2] == [parent]]  # type: ignore[call-overload]
    return [list(e["argv"]) for e in events if e["event"] == "start"  # type: ignore[call-overload]
            and any(str(e["sid"]).startswith(f"{sid}/") for sid in sids)]


def test_a_race_lost_to_a_branch_that_moved_fetches_nothing_and_lands_on_the_next_attempt(
        remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = Options(remote_url=remote.url, retries=3)
    with Session(options, Credentials(), RunContext()) as session:
        env, base = session.environment(EnvRequest("staging"))
        bases: list[str] = []
        trace = tmp_path / "trace2.json"

        def apply(on: str) -> Applied:
            bases.append(on)
            if len(bases) == 1:  # another writer lands between our fetch and our push
                remote.commit_file("staging", "notes.txt", b"theirs\n")
                monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))  # the first push, and what follows
            data = session.ws.read_file(on, API)
            assert data is not None
            edited = data.replace(b"tag: 1a2b3c4", b"tag: 5d6e7f8")
            return Applied(session.ws.commit_files(on, {API: edited}, "bump\n", "bot <bot@example.com>"))

        monkeypatch.setattr("gitops_bot.delivery.push.backoff", lambda attempt, slot: 0.0)
        result = deliver_push(session, "bump", env, base, apply)
        monkeypatch.delenv("GIT_TRACE2_EVENT")

    assert len(bases) == 2 and bases[0] == base and bases[1] == remote.head("staging~1")
    assert result.commit == remote.head("staging")
    assert b"tag: 5d6e7f8" in remote.show("staging", API)
    assert remote.show("staging", "notes.txt") == b"theirs\n"  # the winner's commit is kept
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    pushes = [e for e in events if e["event"] == "start" and e["argv"][1:2] == ["push"]]
    assert len(pushes) == 2
    assert not [argv for argv in _children(events, "push") if "fetch" in argv]  # no lazy fetch of theirs
