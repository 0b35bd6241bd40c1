"""`revert`: undo commits of an environment's branch as new forward commits (docs/commands.md)."""

from __future__ import annotations

from dataclasses import dataclass

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import REVERTS_TRAILER, compose
from gitops_bot.delivery.push import Applied
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.git.workspace import identity
from gitops_bot.model.errors import RevertConflict, UsageError
from gitops_bot.ops.history import History
from gitops_bot.planning.plan import environment_refs
from gitops_bot.planning.states import diff_refs


@dataclass(frozen=True)
class RevertRequest:
    env: str
    commits: tuple[str, ...]
    delivery: str | None = None
    pr: PullRequestOverrides | None = None


def revert(session: Session, request: RevertRequest) -> WriteResult:
    if not request.commits:
        raise UsageError("give at least one commit to revert")
    env, head = session.environment(EnvRequest(request.env))
    history = History(session, env, head)
    shas = history.resolve(request.commits)
    git = session.ws.git

    def apply(base: str) -> Applied:
        all_changes = []
        made = None
        for sha in shas:
            parents = git.out("rev-list", "--parents", "-n", "1", sha).split()[1:]
            before = environment_refs(session.manifests(env, "HEAD"))
            args = ["revert", "--no-commit", "--no-edit"] + (["-m", "1"] if len(parents) > 1 else [])
            res = git.run(*args, sha, check=False)
            if res.returncode != 0:
                conflicted = git.out("diff", "--name-only", "--diff-filter=U").split()
                git.run("revert", "--abort", check=False)
                git.run("reset", "--hard", "--quiet", base)
                where = ", ".join(conflicted) or git.failure(res)
                raise RevertConflict(f"reverting {sha[:12]} conflicts with later changes in {where}; "
                                     f"nothing was pushed")
            if git.run("diff", "--cached", "--quiet", check=False).returncode == 0:
                git.run("revert", "--quit", check=False)
                continue  # already reverted: nothing to commit
            git.run("revert", "--quit", check=False)
            tree = git.out("write-tree")  # the index holds the revert: read its refs from a temp commit
            temp = git.run("commit-tree", tree, "-p", "HEAD", "-m", "tmp",
                           extra_env=identity(session.config.author)).stdout.strip()
            changes = diff_refs(before, environment_refs(session.manifests(env, temp)))
            original = git.out("log", "-1", "--format=%s", sha)
            message = compose(f"revert({env.name}): {original}", env.name, changes,
                              [(REVERTS_TRAILER, sha)], [f"This reverts commit {sha}.", ""],
                              context=session.context)
            made = session.ws.commit(message, session.config.author, ())
            all_changes.extend(changes)
        return Applied(made, tuple(all_changes))

    return deliver(session, "revert", env, head, apply, request.delivery, request.pr)
