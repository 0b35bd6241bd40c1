"""What the planning layer reads from a repository, without knowing that git is behind it.

`RepoFile` is a file as read at a commit. `TreeReader` is the part of a repository that planning
uses (values-file discovery, holds); gitops_bot.git.workspace.Workspace satisfies it structurally,
so planning/ never imports git/.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RepoFile:
    path: str  # repository-relative, POSIX
    data: bytes


class TreeReader(Protocol):
    """Files and trees of the repository at a commit."""

    def paths(self, commit: str) -> list[str]: ...

    def read_file(self, commit: str, path: str) -> bytes | None: ...

    def read_files(self, commit: str, path: str) -> list[RepoFile]: ...

    def read_regular(self, commit: str, paths: Iterable[str]) -> tuple[list[RepoFile], list[str]]: ...

    def read_blobs_batched(self, shas: list[str]) -> dict[str, bytes]: ...
