"""Semantic-version ranges as Flux's ImagePolicy reads them (the Masterminds/semver v3 syntax).

`1.2.x`, `1.2`, `*`; `=`, `!=`, `>`, `>=`, `<`, `<=`; `~1.2.3` (patch updates), `^1.2.3` (no
major change; `^0.2.3` no minor change); hyphen ranges `1.2 - 1.4.5`; terms joined by `,` or spaces
(all must hold) and alternatives by `||`. A tag may carry a `v` and omit minor or patch (`v1.2`).
A pre-release version satisfies a range only when a term of that alternative names a pre-release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import semver

from gitops_bot.model.errors import ConfigError

_VERSION = re.compile(
    r"v?(?P<major>0|[1-9][0-9]*)(?:\.(?P<minor>0|[1-9][0-9]*))?(?:\.(?P<patch>0|[1-9][0-9]*))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?"
)
_PART = r"(?:0|[1-9][0-9]*|[xX*])"
_PARTIAL = re.compile(
    rf"v?(?P<major>{_PART})(?:\.(?P<minor>{_PART}))?(?:\.(?P<patch>{_PART}))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_TERM = re.compile(r"(?P<op>!=|>=|=>|<=|=<|~>|[=<>~^])?\s*(?P<ver>\S+)")
_WILD = ("x", "X", "*")


def parse_version(tag: str) -> semver.Version | None:
    """The version a tag names (`1.2.3`, `v1.2`, `2`, `1.0.0-rc.1+b5`), or None."""
    m = _VERSION.fullmatch(tag)
    if not m:
        return None
    return semver.Version(int(m["major"]), int(m["minor"] or 0), int(m["patch"] or 0), m["pre"], m["build"])


@dataclass(frozen=True)
class _Bound:
    op: str  # one of > >= < <= = !=
    version: semver.Version

    def holds(self, v: semver.Version) -> bool:
        c = v.compare(self.version)
        return {">": c > 0, ">=": c >= 0, "<": c < 0, "<=": c <= 0, "=": c == 0, "!=": c != 0}[self.op]


@dataclass(frozen=True)
class _Group:
    bounds: tuple[_Bound, ...]
    prerelease: bool  # a term names a pre-release: pre-release versions may match

    def holds(self, v: semver.Version) -> bool:
        if v.prerelease and not self.prerelease:
            return False
        return all(b.holds(v) for b in self.bounds)


@dataclass(frozen=True)
class Range:
    text: str
    groups: tuple[_Group, ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        if not text.strip():
            raise ConfigError("an empty semver range")
        groups = []
        for alternative in text.split("||"):
            bounds: list[_Bound] = []
            pre = False
            alt = re.sub(r"\s*,\s*", " ", alternative.strip())
            alt = re.sub(r"([=<>~^!])\s+", r"\1", alt)  # `>= 1.2` is `>=1.2`
            words = alt.split()
            if not words:
                raise ConfigError(f"semver range {text!r}: an empty alternative")
            i = 0
            while i < len(words):
                if i + 2 < len(words) and words[i + 1] == "-":
                    low, high = _partial(words[i], text), _partial(words[i + 2], text)
                    bounds += _hyphen(low, high)
                    pre = pre or bool(low[3] or high[3])
                    i += 3
                    continue
                m = _TERM.fullmatch(words[i])
                if not m:
                    raise ConfigError(f"semver range {text!r}: cannot read {words[i]!r}")
                parts = _partial(m["ver"], text)
                pre = pre or bool(parts[3])
                bounds += _term(m["op"] or "=", parts)
                i += 1
            groups.append(_Group(tuple(bounds), pre))
        return cls(text, tuple(groups))

    def holds(self, v: semver.Version) -> bool:
        return any(g.holds(v) for g in self.groups)


_Parts = tuple[int | None, int | None, int | None, str | None]


def _partial(text: str, whole: str) -> _Parts:
    m = _PARTIAL.fullmatch(text)
    if not m:
        raise ConfigError(f"semver range {whole!r}: {text!r} is not a version")
    nums: list[int | None] = []
    for key in ("major", "minor", "patch"):
        value = m[key]
        nums.append(None if value is None or value in _WILD else int(value))
    for i in range(1, 3):  # once a part is a wildcard, the parts after it are too
        if nums[i - 1] is None:
            nums[i] = None
    return nums[0], nums[1], nums[2], m["pre"]


def _low(p: _Parts) -> semver.Version:
    return semver.Version(p[0] or 0, p[1] or 0, p[2] or 0, p[3])


def _next(p: _Parts) -> semver.Version | None:
    """The first version above every version the partial `p` covers (None: no bound)."""
    major, minor, patch, _ = p
    if major is None:
        return None
    if minor is None:
        return semver.Version(major + 1, 0, 0, "0")
    if patch is None:
        return semver.Version(major, minor + 1, 0, "0")
    return None


def _term(op: str, p: _Parts) -> list[_Bound]:
    major, minor, patch, _ = p
    exact = patch is not None
    if op in ("=", "!="):
        if exact:
            return [_Bound(op, _low(p))]
        nxt = _next(p)
        if op == "!=":  # outside the covered span: an OR inside an AND; rare, read as `< low`
            return [_Bound("<", _low(p))]
        return [_Bound(">=", _low(p))] + ([_Bound("<", nxt)] if nxt else [])
    if op == ">":
        nxt = _next(p)
        return [_Bound(">", _low(p))] if exact else ([_Bound(">=", nxt)] if nxt else [_Bound("<", _low(p))])
    if op in (">=", "=>"):
        return [_Bound(">=", _low(p))]
    if op == "<":
        return [_Bound("<", _low(p))]
    if op in ("<=", "=<"):
        nxt = _next(p)
        return [_Bound("<=", _low(p))] if exact else ([_Bound("<", nxt)] if nxt else [])
    if op in ("~", "~>"):
        if major is None:
            return []
        top = semver.Version(major + 1, 0, 0, "0") if minor is None else semver.Version(major, minor + 1, 0, "0")
        return [_Bound(">=", _low(p)), _Bound("<", top)]
    # ^: no change to the left-most non-zero part
    if major is None:
        return []
    if major > 0 or minor is None:
        top = semver.Version(major + 1, 0, 0, "0")
    elif minor > 0 or patch is None:
        top = semver.Version(0, minor + 1, 0, "0")
    else:
        top = semver.Version(0, 0, patch + 1, "0")
    return [_Bound(">=", _low(p)), _Bound("<", top)]


def _hyphen(low: _Parts, high: _Parts) -> list[_Bound]:
    out = [_Bound(">=", _low(low))]
    if high[2] is not None:
        out.append(_Bound("<=", _low(high)))
    else:
        nxt = _next(high)
        if nxt is not None:
            out.append(_Bound("<", nxt))
    return out
