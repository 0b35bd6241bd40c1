"""`--timeout` bounds the registry's requests too (`--verify-image`, `--pin-digest`), not only git's
(docs/trust-model.md, "Faults")."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunBot
from tests.support.builders import helmrelease
from tests.support.gitrepo import make_remote

RELEASE = helmrelease("pc", "REGISTRY/kai/pc", "1.0.0",
                      spec="  chart: {spec: {chart: pc, sourceRef: {kind: HelmRepository, name: kai-charts}}}\n")


@pytest.mark.parametrize("flag", ["--verify-image", "--pin-digest"])
def test_a_hung_registry_ends_at_timeout(hung_server: str, run_bot: RunBot,
                                         tmp_path: Path, flag: str) -> None:
    registry = urlsplit(hung_server).netloc
    remote = make_remote(tmp_path / "remote", extra={
        "flux/clusters/staging/releases/pc.yaml": RELEASE.replace("REGISTRY", registry).encode()})
    refs = remote.refs()
    started = time.monotonic()
    proc = run_bot("--repo", remote.url, "--timeout", "3", "bump", "--env", "staging",
                   "--image", "pc=1.0.1", flag)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert "--timeout 3 s" in proc.stderr and registry in proc.stderr, proc.stderr
    assert elapsed < 30  # generous; without the budget the registry alone took 4 x 15 s
    assert remote.refs() == refs
