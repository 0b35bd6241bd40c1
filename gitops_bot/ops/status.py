"""`status`: the image x environment board of current tags, and which images drift."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.model.images import display_name
from gitops_bot.planning.plan import environment_refs
from gitops_bot.planning.states import versions


@dataclass(frozen=True)
class Board:
    environments: dict[str, dict[str, str]]
    where: dict[tuple[str, str], str]  # (env, repository) -> "HelmRelease name (file:line)"

    @property
    def drift(self) -> list[str]:
        images: dict[str, set[str]] = {}
        for tags in self.environments.values():
            for repo, tag in tags.items():
                images.setdefault(repo, set()).add(tag)
        return sorted(repo for repo, tags in images.items() if len(tags) > 1)

    def to_json(self) -> dict[str, Any]:
        return {"environments": self.environments, "drift": self.drift}


def status(session: Session, names: Sequence[str]) -> Board:
    if names:
        session.environment(EnvRequest(names[0]))  # reads the repository's config from that branch
    chosen = list(names) or list(session.load_config().environments)
    envs: dict[str, dict[str, str]] = {}
    where: dict[tuple[str, str], str] = {}
    for name in chosen:
        env, head = session.other_environment(name)
        refs = environment_refs(session.manifests(env, head))
        envs[name] = versions(refs)
        for ref in refs:
            where.setdefault((name, display_name(ref.repository)), f"{ref.kind}/{ref.name} ({ref.file}:{ref.line})")
    return Board(envs, where)
