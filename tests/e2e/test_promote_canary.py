"""promote, status, canary, watch and validate, end to end."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.builders import helmrelease
from tests.support.gitrepo import Remote, make_remote
from tests.support.loopback import serving

PROD_API = "flux/clusters/production/releases/api-server.yaml"
STAGING_API = "flux/clusters/staging/releases/api-server.yaml"


def board(run_bot: RunBot, remote: Remote) -> dict[str, dict[str, str]]:
    proc = run_bot("--repo", remote.url, "--output", "json", "status")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return {env: {k.rsplit("/", 1)[-1]: v for k, v in tags.items()} for env, tags in data["environments"].items()}


def test_status_marks_drift_and_promote_removes_it(remote: Remote, run_bot: RunBot) -> None:
    assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   "--image", "kai-coordinator=5d6e7f8").returncode == 0
    before = board(run_bot, remote)
    assert before["staging"]["kai-api-server"] == "5d6e7f8"
    assert before["production"]["kai-api-server"] == "0f9e8d7"
    text = run_bot("--repo", remote.url, "status").stdout
    assert any("kai-api-server" in line and "drift" in line for line in text.splitlines())
    assert not any(line.startswith("redis") and "drift" in line for line in text.splitlines())

    staging_head = remote.head("staging")
    proc = run_bot("--repo", remote.url, "--output", "json", "promote", "--from", "staging", "--to",
                   "production", "--image", "kai-api-server", "--delivery", "push")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [(c["from"], c["to"]) for c in result["changes"]] == [("0f9e8d7", "5d6e7f8")]
    assert f"Gitops-Bot-Promoted-From: staging@{staging_head}" in remote.message("main")
    after = board(run_bot, remote)
    assert after["production"]["kai-api-server"] == "5d6e7f8"
    assert after["production"]["kai-coordinator"] == "0f9e8d7"  # not selected

    proc = run_bot("--repo", remote.url, "--output", "json", "promote", "--from", "staging", "--to",
                   "production", "--delivery", "push")
    assert proc.returncode == 0, proc.stderr
    assert board(run_bot, remote)["production"] == board(run_bot, remote)["staging"]
    assert json.loads(run_bot("--repo", remote.url, "--output", "json", "status").stdout)["drift"] == []


def test_promote_skips_held_images(remote: Remote, run_bot: RunBot) -> None:
    assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   "--image", "kai-coordinator=5d6e7f8").returncode == 0
    assert run_bot("--repo", remote.url, "hold", "--env", "production", "--image", "kai-coordinator",
                   "--reason", "freeze", "--delivery", "push").returncode == 0
    proc = run_bot("--repo", remote.url, "--output", "json", "promote", "--from", "staging", "--to",
                   "production", "--delivery", "push")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [s["image"] for s in result["skipped"]] == ["ghcr.io/kai-platform/kai-coordinator"]
    now = board(run_bot, remote)["production"]
    assert (now["kai-api-server"], now["kai-coordinator"]) == ("5d6e7f8", "0f9e8d7")


def test_canary_start_promote_abort(remote: Remote, run_bot: RunBot) -> None:
    base = ["--repo", remote.url, "--output", "json"]
    original = remote.show("staging", STAGING_API)
    proc = run_bot(*base, "canary", "start", "--env", "staging", "--image", "kai-api-server=c4n4ry",
                   "--weight", "10")
    assert proc.returncode == 0, proc.stderr
    started = remote.show("staging", STAGING_API)
    assert b"enabled: true" in started and b"weight: 10" in started and b'tag: "c4n4ry"' in started
    assert b"tag: 1a2b3c4" in started  # the stable tag stays
    proc = run_bot(*base, "canary", "abort", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    aborted = remote.show("staging", STAGING_API)
    assert b"enabled: false" in aborted and b"tag: 1a2b3c4" in aborted
    assert run_bot(*base, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=c4n4ry").returncode == 0
    proc = run_bot(*base, "canary", "promote", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    promoted = remote.show("staging", STAGING_API)
    assert b"tag: c4n4ry" in promoted and b"enabled: false" in promoted
    # only the canary scalars and the stable tag changed, byte for byte
    assert promoted.replace(b"tag: c4n4ry", b"tag: 1a2b3c4").replace(b"weight: 10", b"weight: 20") == original
    assert "Gitops-Bot-Environment: staging" in remote.message("staging")


def test_canary_start_needs_a_canary_block(remote: Remote, run_bot: RunBot) -> None:
    refused(run_bot, remote, "canary", "start", "--env", "staging", "--image", "redis=8.0.0")


class _Health(http.server.BaseHTTPRequestHandler):
    statuses: list[int] = []

    def do_GET(self) -> None:
        code = self.statuses.pop(0) if self.statuses else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[str, type[_Health]]]:
    handler = type("H", (_Health,), {"statuses": []})
    with serving(handler) as base:
        yield f"{base}/health", handler


def test_watch_healthy_promotes_canary(remote: Remote, run_bot: RunBot,
                                       health_server: tuple[str, type[_Health]]) -> None:
    url, _ = health_server
    assert run_bot("--repo", remote.url, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=c4n4ry").returncode == 0
    proc = run_bot("--repo", remote.url, "--output", "json", "watch", "--env", "staging", "--check", url,
                   "--checks", "3", "--interval", "0", "--threshold", "3", "--on-success", "promote")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"environment": "staging", "health_status": "healthy", "checks": 3,
                                       "failures": 0, "action": "promote"}
    assert b"tag: c4n4ry" in remote.show("staging", STAGING_API)


def test_watch_degraded_aborts_and_exits_3(remote: Remote, run_bot: RunBot, tmp_path: Path,
                                          health_server: tuple[str, type[_Health]]) -> None:
    url, handler = health_server
    handler.statuses.extend([500, 200, 503, 500])
    assert run_bot("--repo", remote.url, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=c4n4ry").returncode == 0
    out = tmp_path / "gh_output"
    proc = run_bot("--repo", remote.url, "--output", "json", "watch", "--env", "staging", "--check", url,
                   "--checks", "10", "--interval", "0", "--threshold", "3", "--on-failure", "abort",
                   env={"GITHUB_OUTPUT": str(out)})
    assert proc.returncode == 3
    result = json.loads(proc.stdout)
    assert (result["health_status"], result["failures"], result["checks"], result["action"]) == (
        "degraded", 3, 4, "abort")
    assert "health-status=degraded" in out.read_text().splitlines()
    shown = remote.show("staging", STAGING_API)
    assert b"enabled: false" in shown and b"tag: 1a2b3c4" in shown


def test_validate_reports_file_and_line(tmp_path: Path, run_bot: RunBot) -> None:
    bad_release = helmrelease("broken", "ghcr.io/x/y", '"bad tag"').encode()
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/releases/broken.yaml": bad_release})
    proc = run_bot("--repo", remote.url, "validate", "--env", "staging")
    assert proc.returncode == 2
    assert "flux/clusters/staging/releases/broken.yaml:5: HelmRelease broken: spec.chart" in proc.stderr
    assert "flux/clusters/staging/releases/broken.yaml:9: invalid tag 'bad tag'" in proc.stderr
    ok = run_bot("--repo", remote.url, "validate", "--env", "production")
    assert ok.returncode == 0, ok.stderr


def test_canary_start_is_not_a_deploy(remote: Remote, run_bot: RunBot) -> None:
    assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                   "kai-coordinator=b2").returncode == 0
    assert run_bot("--repo", remote.url, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=can1").returncode == 0
    message = remote.message("staging")
    assert "Gitops-Bot-Canary: start ghcr.io/kai-platform/kai-api-server can1" in message
    assert "Gitops-Bot-Image" not in message
    deploys = json.loads(run_bot("--repo", remote.url, "--output", "json", "history", "--env",
                                 "staging").stdout)["deploys"]
    assert [d["subject"] for d in deploys] == ["deploy(staging): kai-coordinator b2"]


def test_validate_with_problems_prints_exactly_one_json_document(tmp_path: Path, run_bot: RunBot) -> None:
    bad = b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: x\nspec: {}\n"
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/x.yaml": bad})
    proc = run_bot("--repo", remote.url, "--output", "json", "validate", "--env", "staging")
    assert proc.returncode == 2
    report = json.loads(proc.stdout)  # one document: the report, no error document after it
    assert report["valid"] is False
    assert report["environments"]["staging"]["problems"][0]["file"] == "flux/clusters/staging/x.yaml"
