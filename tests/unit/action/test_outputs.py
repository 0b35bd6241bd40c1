"""The GitHub Actions writer: outputs, summary, annotations, masking."""

from __future__ import annotations

import io
import re
from pathlib import Path

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext

SECRET = "ghs_secretvalue123"


def writer(tmp_path: Path, active: bool = True) -> tuple[ActionsWriter, io.StringIO]:
    stream = io.StringIO()
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    if active:
        env["GITHUB_ACTIONS"] = "true"
    return ActionsWriter(RunContext.from_env(env), Credentials(SECRET).redact, stream), stream


def test_multiline_output_uses_a_random_delimiter(tmp_path: Path) -> None:
    w, _ = writer(tmp_path)
    w.set_outputs({"changed": "true", "notes": "line one\nghadelimiter_x\nline three"})
    text = (tmp_path / "out").read_text()
    assert text.startswith("changed=true\nnotes<<ghadelimiter_")
    m = re.search(r"notes<<(ghadelimiter_[0-9a-f-]{36})\nline one\nghadelimiter_x\nline three\n\1\n$", text)
    assert m, text
    w.set_outputs({"notes": "a\nb"})
    second = re.findall(r"<<(ghadelimiter_[0-9a-f-]+)", (tmp_path / "out").read_text())
    assert len(set(second)) == 2  # a fresh delimiter each time


def test_outputs_and_summary_are_redacted(tmp_path: Path) -> None:
    w, _ = writer(tmp_path)
    w.set_outputs({"x": f"token {SECRET}"})
    w.summary(f"| {SECRET} |")
    assert SECRET not in (tmp_path / "out").read_text() + (tmp_path / "summary").read_text()


def test_error_annotation_escapes_newlines_and_percent(tmp_path: Path) -> None:
    w, stream = writer(tmp_path)
    w.error(f"bad 100%\nsecond line {SECRET}")
    assert stream.getvalue() == "::error title=gitops-bot::bad 100%25%0Asecond line ***\n"


def test_mask_only_inside_actions(tmp_path: Path) -> None:
    w, stream = writer(tmp_path, active=False)
    w.mask(SECRET)
    w.error("x")
    assert stream.getvalue() == ""
    w, stream = writer(tmp_path)
    w.mask(SECRET)
    assert stream.getvalue() == f"::add-mask::{SECRET}\n"


def test_untrusted_text_is_fenced_with_stop_commands(tmp_path: Path) -> None:
    w, _ = writer(tmp_path)
    fenced = w.untrusted("::set-output name=x::owned\n")
    lines = fenced.splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert lines[1] == "::set-output name=x::owned"
    assert lines[2] == f"::{token}::"
