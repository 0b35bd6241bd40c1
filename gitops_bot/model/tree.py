"""What the planning layer reads from a repository, without knowing that git is behind it.

`RepoFile` is a file as read at a commit. `TreeReader` is the part of a repository that planning
uses (values-file discovery, holds); gitops_bot.git.workspace.Workspace satisfies it structurally,
so planning/ never imports git/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RepoFile:
    path: str  # repository-relative, POSIX
    data: bytes


class GitOutput(Protocol):
    def out(self, *args: str, network: bool = False) -> str: ...


class TreeReader(Protocol):
    """Files and trees of the repository at a commit."""

    @property
    def git(self) -> GitOutput: ...  # values-file listing (`ls-tree` of chosen paths)

    def paths(self, commit: str) -> list[str]: ...

    def read_file(self, commit: str, path: str) -> bytes | None: ...

    def read_files(self, commit: str, path: str) -> list[RepoFile]: ...

    def read_blobs_batched(self, shas: list[str]) -> dict[str, bytes]: ...
