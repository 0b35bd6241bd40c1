"""Values read from the GitOps repository are data, never markup (docs/trust-model.md).

Old tags, image repositories, file names and hold reasons come from files that many people can
edit. Before such a value reaches a commit message, a log line, an annotation, the step summary or
a pull-request body it goes through one of these:

- `line`: one printable line. Control characters and line separators become visible escapes
  (`\\n`, `\\x1b`, `\\u2028`), and a workflow command (`::add-mask::…` at the start of a line,
  the legacy `##[…]` anywhere) is broken, so the Actions runner never obeys it.
- `token` / `untoken`: a single word for trailer values, reversible: `%`, whitespace and
  non-printable characters are percent-encoded, so a value can neither end a trailer line nor
  split into more words than the trailer's format has.
- `code`: a Markdown code span that no backtick in the value can close early.
- `md`: inline Markdown text with its markup characters backslash-escaped.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MD_SPECIAL = frozenset("\\`*_[]<>|~&")


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _visible(ch: str) -> bool:
    return ch == " " or ch.isprintable()


def line(text: str) -> str:
    """`text` as one printable line that the Actions runner reads as plain text."""
    out = "".join(ch if _visible(ch) else _escape(ch) for ch in text)
    out = out.replace("##[", "#\\x23[")
    stripped = out.lstrip()
    if stripped.startswith("::"):
        start = len(out) - len(stripped)
        out = f"{out[:start]}\\x3a{out[start + 1:]}"
    return out


def token(text: str) -> str:
    """`text` as one word (no whitespace, nothing unprintable); `untoken` gives it back."""
    out = []
    for ch in text:
        if ch == "%" or ch.isspace() or not ch.isprintable():
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "".join(out)


def untoken(word: str) -> str:
    from urllib.parse import unquote  # not at start-up: urllib.parse loads ipaddress (docs/startup.md)

    return unquote(word, errors="replace")


def code(text: str) -> str:
    """A Markdown code span showing `text` literally (as one line)."""
    body = line(text)
    if not body:
        return "` `"
    longest = run = 0
    for ch in body:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if body[0] in "` " or body[-1] in "` " else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def md(text: str) -> str:
    """Inline Markdown text showing `text` literally (as one line)."""
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in line(text))
