"""The `--message` template: `{env}` and `{subject}` replaced, `{{`/`}}` for literal braces, nothing else.

It is user input, so it is never handed to `str.format` (whose `{env.__class__}` or `{subject!r}`
reach attributes and conversions): the text is scanned here and every other `{…}` is refused.
"""

from __future__ import annotations

import re

from gitops_bot.model.errors import UsageError

FIELDS = ("env", "subject")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def render_message(template: str, values: dict[str, str]) -> str:
    """`template` with its fields replaced; exit 2 naming the first unknown field or lone brace."""
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(template):
        out.append(template[pos:match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            out.append(token[0])
        elif match.group(1) in values:
            out.append(values[match.group(1)])
        else:
            what = f"unknown field {token!r}" if match.group(1) is not None else f"lone {token!r}"
            raise UsageError(f"--message template {template!r}: {what}; only "
                             f"{', '.join('{' + f + '}' for f in FIELDS)} are replaced "
                             f"(write {{{{ and }}}} for literal braces)")
    out.append(template[pos:])
    text = "".join(out)
    if not text.strip() or "\n" in text or "\r" in text:
        raise UsageError("--message must be one non-empty line")
    return text
