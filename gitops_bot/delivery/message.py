"""Deploy commit messages and their machine-readable trailers (docs/commands.md)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from gitops_bot.model.context import DEFAULT_SERVER, RunContext
from gitops_bot.model.images import labels
from gitops_bot.model.untrusted import line, token, untoken
from gitops_bot.planning.plan import Change

ENV_TRAILER = "Gitops-Bot-Environment"
IMAGE_TRAILER = "Gitops-Bot-Image"
SOURCE_TRAILER = "Gitops-Bot-Source"
RUN_TRAILER = "Gitops-Bot-Run"
REVERTS_TRAILER = "Gitops-Bot-Reverts"
ROLLBACK_TRAILER = "Gitops-Bot-Rollback-To"
PROMOTED_TRAILER = "Gitops-Bot-Promoted-From"
CANARY_TRAILER = "Gitops-Bot-Canary"
_KEYS = (ENV_TRAILER, IMAGE_TRAILER, SOURCE_TRAILER, RUN_TRAILER, REVERTS_TRAILER, ROLLBACK_TRAILER,
         PROMOTED_TRAILER, CANARY_TRAILER)
# Only the bot's own format counts: a known key at the start of a line, one space, a value of
# printable non-space words (values from the repository are `token`-encoded into single words).
_TRAILER_RE = re.compile(r"(Gitops-Bot-[A-Za-z-]+): (\S+(?: \S+)*)")
_IMAGE_RE = re.compile(r"(\S+) (\S+) -> (\S+)")


@dataclass(frozen=True)
class ImageMove:
    image: str
    old: str
    new: str


def run_trailers(context: RunContext | None) -> list[tuple[str, str]]:
    """Source and Run trailers from the GitHub Actions run, when known."""
    out: list[tuple[str, str]] = []
    if context is None:
        return out
    repo, sha = context.repository, context.sha
    if repo and sha:
        out.append((SOURCE_TRAILER, f"{repo}@{sha}"))
    server = context.server_url if context.server_url is not None else DEFAULT_SERVER
    run_id = context.run_id
    if repo and run_id:
        out.append((RUN_TRAILER, f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}"))
    return out


def moves(changes: Sequence[Change]) -> list[ImageMove]:
    """One move per distinct (image, from, to), in first-seen order."""
    seen: dict[tuple[str, str, str], ImageMove] = {}
    for c in changes:
        seen.setdefault((c.image, c.old, c.new), ImageMove(c.image, c.old, c.new))
    return list(seen.values())


def _target(name: str, version: str) -> str:
    """`kai-api-server 5d6e7f8`; a digest is shortened: `kai-worker@sha256:a1fc2b3c4d5e…`."""
    tag, _, digest = version.rpartition("@") if "@" in version else (version, "", "")
    if version.startswith("sha256:"):
        tag, digest = "", version
    short = f"{digest[:19]}…" if len(digest) > 19 else digest
    if not tag:
        return f"{name}@{short}"
    return f"{name} {tag}@{short}" if short else f"{name} {tag}"


def subject_for(verb: str, env: str, changes: Sequence[Change]) -> str:
    """One image is always named; several become `N images [TAG]` when naming them is too long."""
    targets: dict[str, str] = {}
    found = moves(changes)
    names = labels(move.image for move in found)  # two images of one short name are told apart
    for move in found:
        targets.setdefault(line(names[move.image]), line(move.new))
    text = ", ".join(_target(name, version) for name, version in targets.items())
    if len(text) > 60 and len(targets) > 1 and len(set(targets.values())) == 1:
        text = f"{len(targets)} images {_target('', next(iter(targets.values()))).strip()}"
    elif len(text) > 60 and len(targets) > 1:
        text = f"{len(targets)} images"
    return f"{verb}({env}): {text}"


def compose(
    subject: str,
    env: str,
    changes: Sequence[Change],
    extra: Sequence[tuple[str, str]] = (),
    body_lines: Sequence[str] = (),
    deploy: bool = True,
    context: RunContext | None = None,
) -> str:
    """Subject, body (one line per change), trailers. `deploy=False`: the changes are not image
    deploys (a canary being switched), so no Gitops-Bot-Image trailers are written for them.
    `context`: the run, for the Source and Run trailers (None: no run known, none written)."""
    lines = [line(subject), ""]
    lines += [line(text) for text in body_lines]
    names = labels(c.image for c in changes)
    lines += [line(f"- {names[c.image]}: {c.old or '-'} -> {c.new or '-'} ({c.file}:{c.line})")
              for c in changes]
    if lines[-1] == "":
        lines.pop()
    trailers = [(ENV_TRAILER, env)]
    if deploy:
        trailers += [(IMAGE_TRAILER, image_trailer(m)) for m in moves(changes)]
    trailers += list(extra)
    trailers += run_trailers(context)
    lines += ["", *(f"{k}: {line(v)}" for k, v in trailers)]
    return "\n".join(lines) + "\n"


def _word(value: str, empty: str | None = None) -> str:
    """A trailer word for a value: `-` stands for an empty one, so a value `-` is encoded."""
    if not value and empty is not None:
        return empty
    return "%2D" if value == "-" else token(value)


def image_trailer(move: ImageMove) -> str:
    return f"{_word(move.image)} {_word(move.old, '-')} -> {_word(move.new, '-')}"


def trailers(message: str) -> list[tuple[str, str]]:
    """The Gitops-Bot-* trailer lines of a commit message, in the bot's own format only.

    Every line counts, not only the last paragraph: a squash merge of several bumps keeps each
    commit's trailers in its own paragraph. Lines are split as git splits them (on LF only), and
    a line counts only when all of it is a known trailer: nothing before the key, one space after
    the colon, no control character anywhere.
    """
    out = []
    for text in message.split("\n"):
        m = _TRAILER_RE.fullmatch(text.removesuffix("\r"))
        if m and m.group(1) in _KEYS and m.group(2).isprintable():
            out.append((m.group(1), m.group(2)))
    return out


def image_moves(message: str) -> list[ImageMove]:
    out = []
    for key, value in trailers(message):
        m = _IMAGE_RE.fullmatch(value) if key == IMAGE_TRAILER else None
        if m:
            image, old, new = (untoken(w) for w in m.groups())
            out.append(ImageMove(image, "" if m.group(2) == "-" else old, "" if m.group(3) == "-" else new))
    return out


def trailer(message: str, key: str) -> str | None:
    return next((v for k, v in trailers(message) if k == key), None)
