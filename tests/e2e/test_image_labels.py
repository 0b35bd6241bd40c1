"""Two images of one short name are told apart wherever images are listed side by side."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunBot
from tests.support.gitrepo import make_remote

DB = "flux/clusters/staging/releases/db-init.yaml"
DEPLOYMENT = b"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: db-init
  namespace: kai
spec:
  selector:
    matchLabels: {app: db-init}
  template:
    metadata:
      labels: {app: db-init}
    spec:
      initContainers:
        - name: home
          image: ghcr.io/home-operations/postgres-init:16
        - name: other
          image: ghcr.io/rafaribe/postgres-init:16
      containers:
        - name: api
          image: ghcr.io/kai-platform/kai-api-server:1a2b3c4
"""


def test_bump_output_commit_body_and_history_name_both_images_in_full(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "remote")
    remote.commit_file("staging", DB, DEPLOYMENT)
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging",
                   "--image", "ghcr.io/home-operations/postgres-init=17",
                   "--image", "ghcr.io/rafaribe/postgres-init=16.4")
    assert proc.returncode == 0, proc.stderr
    assert f"{DB}:15: ghcr.io/home-operations/postgres-init 16 -> 17\n" in proc.stdout
    assert f"{DB}:17: ghcr.io/rafaribe/postgres-init 16 -> 16.4\n" in proc.stdout
    body = remote.message("staging")
    assert f"- ghcr.io/home-operations/postgres-init: 16 -> 17 ({DB}:15)" in body
    assert f"- ghcr.io/rafaribe/postgres-init: 16 -> 16.4 ({DB}:17)" in body

    # a later deploy of one of them alone: the table still tells the two apart across its rows
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "ghcr.io/rafaribe/postgres-init=16.5")
    assert proc.returncode == 0, proc.stderr
    assert f"{DB}:17: postgres-init 16.4 -> 16.5\n" in proc.stdout  # alone in its list: the short name
    proc = run_bot("--repo", remote.url, "history", "--env", "staging", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    rows = [ln for ln in proc.stdout.splitlines() if "->" in ln]
    assert len(rows) == 3, proc.stdout
    assert "ghcr.io/rafaribe/postgres-init" in rows[0] and "16.4 -> 16.5" in rows[0]
    assert "ghcr.io/home-operations/postgres-init" in rows[1] and "16 -> 17" in rows[1]
    assert "ghcr.io/rafaribe/postgres-init" in rows[2] and "16 -> 16.4" in rows[2]


def test_a_reference_that_had_no_tag_shows_a_dash_as_its_old_tag(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "remote")
    marked = b'image: ghcr.io/rafaribe/postgres-init # {"$imagepolicy": "kai:postgres-init"}'
    remote.commit_file("staging", DB, DEPLOYMENT.replace(b"image: ghcr.io/rafaribe/postgres-init:16", marked))
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "ghcr.io/rafaribe/postgres-init=16.4")
    assert proc.returncode == 0, proc.stderr
    assert f"{DB}:17: postgres-init - -> 16.4\n" in proc.stdout  # a Flux marker's whole reference, tagless
    assert f"- postgres-init: - -> 16.4 ({DB}:17)" in remote.message("staging")
    assert marked.replace(b"init #", b"init:16.4 #") in remote.show("staging", DB)
