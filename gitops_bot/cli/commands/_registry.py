"""The `--verify-image` and `--pin-digest` flags of the write commands that set tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

verify_option = click.option(
    "--verify-image/--no-verify-image", "verify_image", default=None,
    help="Before writing, check that every target image:tag exists in its registry (missing: exit 2, "
         "nothing written). Default: registry.verify of the config.",
)
pin_option = click.option(
    "--pin-digest/--no-pin-digest", "pin_digest", default=None,
    help="Resolve each tag to the digest its registry reports (a multi-arch image: the index digest) "
         "and write TAG@sha256:… (or the digest field). Default: registry.pin-digest of the config.",
)


def registry_options(func: F) -> F:
    """Both flags: for commands whose wanted state can carry a digest."""
    return verify_option(pin_option(func))
