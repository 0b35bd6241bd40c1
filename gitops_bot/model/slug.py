"""GitHub repository names: what `--repo OWNER/NAME` may be when it names a repository on the server."""

from __future__ import annotations

import re

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")


def is_slug(repository: str) -> bool:
    """`OWNER/NAME` as GitHub spells it; `../kai-gitops`, `./a/b` and URLs are not."""
    return bool(_SLUG.fullmatch(repository)) and repository.split("/")[1] not in (".", "..")
