"""A re-plan after a lost race reads and checks only what the winners changed (delivery/push.py,
docs/commands.md), and still sees all of it: with real git over file://."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_bot.delivery.push import Applied, deliver_push
from gitops_bot.delivery.session import EnvRequest, Options, Session
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import ManifestError
from tests.support.gitrepo import Remote

RELEASES = "flux/clusters/staging/releases"
API = f"{RELEASES}/api-server.yaml"
REDIS = f"{RELEASES}/redis.yaml"
NEEDLES = [b"kai-api-server"]


def bump_api(session: Session, winner: bytes, read: list[list[str]], monkeypatch: pytest.MonkeyPatch,
             trace: Path | None = None) -> str:
    """Bump the API server's tag; between the first plan and its push another writer lands `winner`
    as redis.yaml. What each plan read from the store goes to `read`; the commit that landed is returned."""
    env, base = session.environment(EnvRequest("staging"))
    cat = session.ws.cat

    def counted(shas: object) -> dict[str, bytes]:
        wanted = list(shas)  # type: ignore[call-overload]
        read[-1].extend(wanted)
        return cat(wanted)

    monkeypatch.setattr(session.ws, "cat", counted)

    def apply(on: str) -> Applied:
        read.append([])
        manifests = session.manifests(env, on, NEEDLES)
        if len(read) == 1:  # another writer lands between our fetch and our push
            session.ws.remote.commit_file("staging", REDIS, winner)  # type: ignore[attr-defined]
            if trace is not None:
                monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))  # the lost push, and the re-plan
        api = next(m for m in manifests if m.path == API)
        edited = api.encode(api.text).replace(b"tag: 1a2b3c4", b"tag: 5d6e7f8")
        return Applied(session.ws.commit_files(on, {API: edited}, "bump\n", "bot <bot@example.com>"))

    monkeypatch.setattr("gitops_bot.delivery.push.backoff", lambda attempt, slot: 0.0)
    result = deliver_push(session, "bump", env, base, apply)
    assert result.commit is not None
    return result.commit


def opened(remote: Remote) -> Session:
    session = Session(Options(remote_url=remote.url, retries=3), Credentials(), RunContext())
    session.ws.remote = remote  # type: ignore[attr-defined]  # for the winner's commit, in bump_api
    return session


def test_the_re_plan_reads_only_the_winners_file_and_lists_nothing(remote: Remote, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = remote.show("staging", REDIS).replace(b"redis", b"redis # theirs", 1)
    read: list[list[str]] = []
    trace = tmp_path / "trace2.json"
    with opened(remote) as session:
        landed = bump_api(session, theirs, read, monkeypatch, trace)
        monkeypatch.delenv("GIT_TRACE2_EVENT")

    assert landed == remote.head("staging")
    assert b"tag: 5d6e7f8" in remote.show("staging", API)
    assert remote.show("staging", REDIS) == theirs  # the winner's change is kept
    assert len(read) == 2 and len(read[0]) > 10  # the first plan read the whole environment...
    assert len(read[1]) == 1  # ...the re-plan only the file the winner changed
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    commands = [e["argv"][1] for e in events if e["event"] == "start" and len(e["argv"]) > 1]
    assert "ls-tree" not in commands  # the environment's listing came from the fetch's diff
    assert commands.count("fetch") == 1 and commands.count("diff-tree") == 1


def test_a_file_the_winner_broke_stops_the_re_plan(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    before = remote.head("staging")
    with opened(remote) as session, pytest.raises(ManifestError, match=f"{REDIS}:"):
        bump_api(session, b"spec: [unclosed\n", [], monkeypatch)  # checked again: its content is new
    assert remote.head("staging") != before  # the winner's commit, not ours
    assert b"tag: 1a2b3c4" in remote.show("staging", API)
