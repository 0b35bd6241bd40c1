"""GitHub's `createCommitOnBranch`, played by a `responses` callback that writes to a real bare remote.

The callback checks what gitops-bot sends (token, repository, branch, expectedHeadOid, base64 file
changes) and then does what GitHub does: it builds the commit from the branch head plus the file
changes (git plumbing on the bare repository), moves the branch only if it still points at
`expectedHeadOid`, and answers with the new oid. A stale head gets GitHub's STALE_DATA error.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import responses

from tests.support.github_mock import SLUG

GRAPHQL = "https://api.github.com/graphql"
GITHUB_IDENT = {"GIT_AUTHOR_NAME": "kai-gitops-bot[bot]",
                "GIT_AUTHOR_EMAIL": "1+kai-gitops-bot[bot]@users.noreply.github.com",
                "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}


def _git(bare: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=bare, input=stdin, capture_output=True, check=True, timeout=60,
                          env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                               **(env or {})})
    return proc.stdout.decode().strip()


@dataclass
class FakeGraphQL:
    rsps: responses.RequestsMock
    bare: Path
    token: str
    url: str = GRAPHQL
    inputs: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    before: Callable[[int], None] | None = None  # runs before request n is handled (to lose a race)
    refuse: dict[str, Any] | None = None  # a fixed error reply instead

    def install(self) -> FakeGraphQL:
        self.rsps.add_callback(responses.POST, self.url, callback=self._handle, content_type="application/json")
        return self

    def _handle(self, request: Any) -> tuple[int, dict[str, str], str]:
        assert request.headers["Authorization"] == f"bearer {self.token}"
        payload = json.loads(request.body)
        assert "createCommitOnBranch(input: $input)" in payload["query"]
        data = payload["variables"]["input"]
        self.inputs.append(data)
        if self.before is not None:
            self.before(len(self.inputs))
        if self.refuse is not None:
            return 200, {}, json.dumps(self.refuse)
        assert data["branch"]["repositoryNameWithOwner"] == SLUG
        branch = data["branch"]["branchName"]
        head = _git(self.bare, "rev-parse", f"refs/heads/{branch}")
        if head != data["expectedHeadOid"]:
            return 200, {}, json.dumps({"data": {"createCommitOnBranch": None}, "errors": [{
                "type": "STALE_DATA", "path": ["createCommitOnBranch"], "locations": [{"line": 2, "column": 3}],
                "message": f"Expected branch to point to \"{data['expectedHeadOid']}\" but it did not. "
                           f"Pull and try again."}]})
        oid = self._commit(branch, head, data)
        self.created.append(oid)
        return 200, {}, json.dumps({"data": {"createCommitOnBranch": {"commit": {
            "oid": oid, "url": f"https://github.com/{SLUG}/commit/{oid}"}}}})

    def _commit(self, branch: str, head: str, data: dict[str, Any]) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            _git(self.bare, "read-tree", head, env=env)
            for add in data["fileChanges"].get("additions", []):
                blob = _git(self.bare, "hash-object", "-w", "--stdin", stdin=base64.b64decode(add["contents"]))
                _git(self.bare, "update-index", "--add", "--cacheinfo", f"100644,{blob},{add['path']}", env=env)
            for gone in data["fileChanges"].get("deletions", []):
                _git(self.bare, "update-index", "--force-remove", gone["path"], env=env)
            tree = _git(self.bare, "write-tree", env=env)
        message = data["message"]["headline"] + (f"\n\n{data['message']['body']}" if data["message"]["body"] else "")
        oid = _git(self.bare, "commit-tree", tree, "-p", head, stdin=message.encode(), env=GITHUB_IDENT)
        _git(self.bare, "update-ref", f"refs/heads/{branch}", oid, head)
        return oid
