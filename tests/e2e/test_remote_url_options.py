"""A clone URL that git would read as an option is bad input, not a git failure (docs/trust-model.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunBot
from tests.support.gitrepo import Remote


@pytest.mark.parametrize("url", ["-x", "--upload-pack=touch pwned"])
def test_a_remote_url_starting_with_a_dash_is_exit_2_naming_it(remote: Remote, run_bot: RunBot,
                                                               tmp_path: Path, url: str) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "--remote-url", url, "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 2, proc.stderr
    assert "--remote-url" in proc.stderr and url in proc.stderr and "Traceback" not in proc.stderr
    assert remote.refs() == refs and not (tmp_path / "pwned").exists()
