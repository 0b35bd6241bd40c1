"""Writing commits to the remote: `git push`, or with `commit.sign: github` through GitHub's API.

With `commit.sign: github` each local commit is re-created on the remote branch by the GraphQL
mutation `createCommitOnBranch` (file additions base64, deletions by path, `expectedHeadOid` the
commit it was planned on), so that GitHub signs it and shows it as verified. A stale head is the
same lost race as a rejected push: the caller fetches the new head and re-plans. Afterwards the
commit GitHub made is fetched, checked to hold the planned tree, and is what the result reports
and what `history`, `revert` and `rollback` read (docs/github.md).
"""

from __future__ import annotations

import base64
import logging
import re
from typing import Any

from gitops_bot.delivery.session import Session
from gitops_bot.git.workspace import PushOutcome, Workspace
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import GitError, GitHubError, UsageError

log = logging.getLogger("gitops_bot.api_commit")

MUTATION = """\
mutation($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}"""
_STALE = re.compile(r"expectedHeadOid|Expected branch to point to|but it did not", re.IGNORECASE)
TIMEOUT = 30.0


def graphql_url(context: RunContext) -> str:
    """GITHUB_GRAPHQL_URL, else the API URL's GraphQL endpoint (https://HOST/api/v3 -> https://HOST/api/graphql)."""
    from gitops_bot.github.client import api_url  # PyGithub, imported only for commit.sign: github

    explicit = (context.graphql_url or "").strip()
    if explicit:  # checked like GITHUB_API_URL: an http(s) URL, else exit 2
        from gitops_bot.github.client import checked_url

        return checked_url(explicit, "GITHUB_GRAPHQL_URL")
    return api_url(context.api_url).removesuffix("/v3") + "/graphql"


def publish(session: Session, branch: str, start: str, head: str, *, lease: str | None = None) -> str | None:
    """Put the local commits `start..head` on the remote `branch` and return the remote's new head
    (GitHub's own commit with `commit.sign: github`); None when another writer won a race.

    `lease`: the commit the remote branch must still be at ("" for none: it must not exist). The
    bot's PR branch is leased on what it was; a push to an environment's branch on `start`, its
    base. Then a branch that moved since the fetch is seen in the server's advertisement and the
    push stops there: without a lease, git would first look up the commit that won, which a
    partial clone does not have and fetches (a whole fetch on the server, for every lost race).
    A branch still at `start` gets a fast-forward: the server sees no force push.
    """
    ws = session.ws
    if session.config.sign != "github":
        outcome = ws.push(branch, source=head) if lease is None else ws.push(branch, lease=lease, source=head)
        return head if outcome is PushOutcome.PUSHED else None
    slug = session.config.repository
    token = session.credentials.token
    if not token:
        raise UsageError("commit.sign: github creates commits through the GitHub API and needs a token "
                         "(GITOPS_BOT_TOKEN, GITHUB_TOKEN or a GitHub App)")
    if slug.count("/") != 1 or "://" in slug:
        raise UsageError(f"commit.sign: github needs the GitHub repository as OWNER/NAME (--repo), not {slug!r}")
    # the PR branch starts again from `start` (a commit the remote has: nothing unsigned is created)
    if lease is not None and lease != start and ws.push(branch, lease=lease, source=start) is not PushOutcome.PUSHED:
        return None
    expected = start
    for commit in ws.rev_list(f"{start}..{head}", reverse=True):
        created = _create(ws, token, slug, branch, expected, commit, session.context)
        if created is None:
            return None
        log.info("GitHub created %s on %s (for local %s)", created[:12], branch, commit[:12])
        expected = created
    _fetch_created(ws, branch, expected, head)
    return expected


def file_changes(ws: Workspace, parent: str, commit: str) -> dict[str, list[dict[str, str]]]:
    """The `fileChanges` of `commit` against `parent`: additions (base64 contents) and deletions."""
    additions: list[tuple[str, str]] = []
    deletions: list[str] = []
    for change in ws.diff_tree(parent, commit):
        path, new_mode, new_sha, status = change.path, change.new_mode, change.new, change.status
        if status.startswith("D"):
            deletions.append(path)
        elif new_mode in ("100644", "100755"):
            additions.append((path, new_sha))
        else:
            raise GitError(f"commit.sign: github cannot write {path} (mode {new_mode}): only regular files")
    blobs = ws.read_blobs(sorted({sha for _, sha in additions}))
    return {
        "additions": [{"path": p, "contents": base64.b64encode(blobs[sha]).decode()} for p, sha in additions],
        "deletions": [{"path": p} for p in deletions],
    }


def _message(ws: Workspace, commit: str) -> tuple[str, str]:
    raw = ws.commit_text(commit)
    message = raw.split("\n\n", 1)[1] if "\n\n" in raw else ""
    headline, _, body = message.partition("\n")
    return headline, body.lstrip("\n").rstrip("\n")


def _create(ws: Workspace, token: str, slug: str, branch: str, expected: str, commit: str,
            context: RunContext) -> str | None:
    headline, body = _message(ws, commit)
    variables: dict[str, Any] = {"input": {
        "branch": {"repositoryNameWithOwner": slug, "branchName": branch},
        "message": {"headline": headline, "body": body},
        "fileChanges": file_changes(ws, f"{commit}^", commit),
        "expectedHeadOid": expected,
    }}
    what = f"create the commit on {branch} through the GitHub API"
    import requests  # only commit.sign: github needs it

    try:
        reply = requests.post(graphql_url(context), json={"query": MUTATION, "variables": variables},
                              timeout=ws.git.budget.cap(TIMEOUT) if ws.git.budget else TIMEOUT,
                              headers={"Authorization": f"bearer {token}", "User-Agent": "gitops-bot",
                                       "Accept": "application/json"})
    except requests.RequestException as err:
        raise GitHubError(f"GitHub API unreachable while trying to {what}: {type(err).__name__}") from None
    try:
        data = reply.json()
    except ValueError:
        data = {}
    errors = data.get("errors") or [] if isinstance(data, dict) else []
    said = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
    if reply.status_code >= 400 and not errors:
        said = str(data.get("message", "") if isinstance(data, dict) else "") or reply.reason
    if any(_STALE.search(str(e.get("message", ""))) or e.get("type") == "STALE_DATA"
           for e in errors if isinstance(e, dict)):
        log.info("%s moved while we planned (%s)", branch, said)
        return None
    oid = (((data.get("data") or {}).get("createCommitOnBranch") or {}).get("commit") or {}).get("oid") \
        if isinstance(data, dict) else None
    if reply.status_code >= 400 or errors or not isinstance(oid, str):
        hint = {401: " (the token is invalid or expired)",
                403: " (the token needs contents: write on the repository)"}.get(reply.status_code, "")
        # a server error may come after the commit was made: a re-run then finds it and changes nothing
        outcome = ("GitHub may have created the commit anyway: run again, a re-run changes nothing if it did"
                   if reply.status_code >= 500 else "nothing was written")
        raise GitHubError(f"GitHub API {reply.status_code} while trying to {what}: "
                          f"{said or 'no commit in the reply'}{hint}; {outcome}")
    return oid


def _fetch_created(ws: Workspace, branch: str, oid: str, planned: str) -> None:
    """Fetch the commit GitHub made and check it holds exactly the tree that was planned."""
    ws.fetch(branch)
    ws.fetch_commit(oid)
    made, wanted = ws.tree_of(oid), ws.tree_of(planned)
    if made != wanted:
        raise GitHubError(f"the commit GitHub created on {branch} ({oid[:12]}) does not hold the planned "
                          f"files (tree {made[:12]}, planned {wanted[:12]}); check it by hand")
