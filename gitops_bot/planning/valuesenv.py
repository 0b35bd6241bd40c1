"""Values files in a run: reading them with the environment's manifests, and refusing to bump a file
another environment of the same branch reads too (docs/image-references.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from gitops_bot.config.settings import Config, Environment
from gitops_bot.manifests.nodes import check_syntax
from gitops_bot.manifests.sites import Manifest
from gitops_bot.manifests.valuesfiles import NEEDLES, Discovery, ValuesUse, as_values, discover, needs_parsing
from gitops_bot.model.errors import GitopsBotError, UsageError
from gitops_bot.model.tree import RepoFile, TreeReader

log = logging.getLogger("gitops_bot.values")
_TEXT_NEEDLES = tuple(n.decode() for n in NEEDLES)


def discovery_at(ws: TreeReader, env: Environment, commit: str, manifests: Sequence[Manifest]) -> Discovery:
    """The environment's values files at `commit` (nothing to list when nothing can name one)."""
    if not env.values_files and not any(n in m.text for m in manifests for n in _TEXT_NEEDLES):
        return Discovery({})
    return discover(env, manifests, ws.paths(commit))


def values_files(ws: TreeReader, uses: Iterable[ValuesUse], commit: str) -> list[RepoFile]:
    """The files themselves, read from git objects in one batch. A symbolic link is not followed
    (files reached through links are never read): it is skipped with a warning."""
    files, links = ws.read_regular(commit, (use.path for use in uses))
    for name in links:
        log.warning("skipping values file %s: a symbolic link (not followed)", name)
    return files


def with_values(ws: TreeReader, env: Environment, commit: str, manifests: list[Manifest],
                needles: Sequence[bytes] | None) -> list[Manifest]:
    """`manifests` plus the environment's values files, each read as values (a values file under
    the environment's path replaces its plain reading). Files the command cannot need (`needles`)
    are only checked to be well-formed YAML."""
    found = discovery_at(ws, env, commit, manifests)
    for problem in found.problems:
        log.warning("%s:%d: %s (skipped)", problem.file, problem.line, problem.message)
    for pattern in found.unmatched:
        log.warning("environments.%s.values-files: %r matches no file at %s", env.name, pattern, commit[:12])
    if not found.uses:
        return manifests
    by_path = {m.path: m for m in manifests}
    for f in values_files(ws, found.uses.values(), commit):
        use = found.uses[f.path]
        if needles is not None and not any(n in f.data for n in needles):
            check_syntax(f.data, f.path)
            by_path.pop(f.path, None)
            continue
        by_path[f.path] = as_values(by_path.get(f.path) or Manifest.parse(f.path, f.data), use)
    return list(by_path.values())


def uses_at(ws: TreeReader, env: Environment, commit: str, files: Sequence[RepoFile]) -> Mapping[str, ValuesUse]:
    """The values files of an environment whose files at `commit` are `files` (only those that
    can name values files are parsed)."""
    parsed = [Manifest.parse(f.path, f.data) for f in files if needs_parsing(f.data)]
    return discovery_at(ws, env, commit, parsed).uses


def refuse_shared(ws: TreeReader, config: Config, env: Environment, base: str,
                  manifests: Sequence[Manifest], files: Mapping[str, bytes], allow_shared: bool) -> None:
    """A values file this run would edit that another environment on the same branch reads too:
    exit 2 naming that environment, unless `--allow-shared`."""
    edited = sorted(m.path for m in manifests if m.values_for is not None and m.path in files)
    if not edited or allow_shared:
        return
    for other in config.environments.values():
        if other.name == env.name or other.branch != env.branch:
            continue  # another branch holds its own copy of the file
        try:
            uses = uses_at(ws, other, base, ws.read_files(base, other.path))
        except GitopsBotError as err:  # its tree does not read here: it reads no values file
            log.info("environment %s: values files not read (%s)", other.name, err)
            continue
        for path in edited:
            if path in uses:
                raise UsageError(
                    f"{path} is a values file of environment {other.name} too ({uses[path].named_at}): "
                    f"bumping it for {env.name} would deploy to {other.name} as well; give "
                    f"--allow-shared to bump it anyway")


def for_validation(ws: TreeReader, env: Environment, commit: str, files: Sequence[RepoFile]) -> Discovery:
    """Discovery for `validate`: a file that does not parse names no values file (validate reports
    it on its own)."""
    parsed = []
    for f in files:
        if needs_parsing(f.data):
            try:
                parsed.append(Manifest.parse(f.path, f.data))
            except GitopsBotError:
                continue
    return discovery_at(ws, env, commit, parsed)
