"""--timeout's budget: spent by network work only, and a network command never starts past it."""

from __future__ import annotations

import pytest

from gitops_bot.git.workspace import Workspace
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitError
from gitops_bot.model.timebudget import TimeBudget
from tests.support.gitrepo import Remote


def test_network_commands_spend_the_budget_and_local_ones_do_not(remote: Remote) -> None:
    budget = TimeBudget(300)
    with Workspace.open(remote.url, Credentials(), workdir=None, progress=False, budget=budget) as ws:
        assert budget.spent == 0  # init, remote add, config: local
        ws.fetch("staging")
        spent = budget.spent
        assert spent > 0
        ws.read_file(ws.git.out("rev-parse", "refs/remotes/origin/staging"), "flux")
        assert budget.spent == spent


def test_a_network_command_past_the_budget_is_not_started(remote: Remote) -> None:
    budget = TimeBudget(5)
    with Workspace.open(remote.url, Credentials(), workdir=None, progress=False, budget=budget) as ws:
        budget.spent = 5.5  # as after 5.5 s of fetching and pushing
        with pytest.raises(GitError, match=r"^git fetch from file://\S+ not started: the run used up its "
                                           r"--timeout 5 s$"):
            ws.fetch("staging")


def test_back_off_is_cut_to_what_is_left() -> None:
    budget = TimeBudget(1)
    budget.spent = 0.99
    budget.sleep(60)  # returns within what was left
    assert budget.left() <= 0.01
    assert budget.cap(30) == pytest.approx(0.001, abs=0.01)
