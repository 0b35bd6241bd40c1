"""git config file text, written in one go instead of one `git config` process per setting."""

from __future__ import annotations

from collections.abc import Iterable

from gitops_bot.model.errors import UsageError


def config_text(settings: Iterable[tuple[str, str]]) -> str:
    """`section[.subsection].name = value` pairs as git config file text, values quoted and escaped."""
    def quoted(value: str) -> str:
        if "\0" in value:
            raise UsageError(f"a git setting may not hold a NUL character: {value!r}")
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        # quoted where git itself quotes: comment characters, leading or trailing blanks, empty
        plain = escaped and escaped == escaped.strip() and not any(c in escaped for c in ";#")
        return escaped if plain else f'"{escaped}"'

    lines: list[str] = []
    current = ""
    for key, value in settings:
        section, _, name = key.rpartition(".")
        head, _, sub = section.partition(".")
        header = f'[{head} "{_subsection(sub)}"]' if sub else f"[{head}]"
        if header != current:
            lines.append(header)
            current = header
        lines.append(f"\t{name} = {quoted(value)}")
    return "".join(f"{ln}\n" for ln in lines)


def _subsection(name: str) -> str:
    if "\0" in name or "\n" in name:
        raise UsageError(f"a git config subsection may not hold a NUL or newline: {name!r}")
    return name.replace("\\", "\\\\").replace('"', '\\"')
