"""`bump`: set image tags in one environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitops_bot.config.settings import PullRequestOverrides
from gitops_bot.delivery.dispatch import deliver
from gitops_bot.delivery.message import compose, subject_for
from gitops_bot.delivery.push import planned
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.model.errors import UsageError
from gitops_bot.model.images import Wanted, validate_tag
from gitops_bot.model.template import render_message
from gitops_bot.planning.holds import read_holds
from gitops_bot.planning.plan import Rules, environment_refs, make_plan, needles
from gitops_bot.planning.proposal import Proposal
from gitops_bot.planning.valuesenv import refuse_shared
from gitops_bot.registry.checks import ImageChecks, LazyRegistry, checked, pin_wanted


@dataclass(frozen=True)
class BumpRequest:
    target: EnvRequest
    images: tuple[str, ...] = ()
    tag: str | None = None
    delivery: str | None = None
    allow_downgrade: bool = False
    allow_missing: bool = False
    force: bool = False
    message: str | None = None
    pr: PullRequestOverrides | None = None
    verify: bool | None = None  # --verify-image / registry.verify
    pin: bool | None = None  # --pin-digest / registry.pin-digest
    allow_shared: bool = False  # edit a values file another environment of the branch reads too


def wanted_images(images: Sequence[str], tag: str | None, aliases: dict[str, str]) -> list[Wanted]:
    """`--image` specs, or every alias of `images:` at `--tag` when none is given."""
    if tag is not None:
        validate_tag(tag)
    if images:
        return [Wanted.parse(spec, tag) for spec in images]
    if tag is None:
        raise UsageError("nothing to bump: give --image NAME=TAG, or --tag with aliases in images:")
    if not aliases:
        raise UsageError("no --image given and the configuration has no images: aliases")
    return [Wanted.parse(name, tag) for name in aliases]


def render_template(template: str, env: str, subject: str) -> str:
    """`--message`: {env} and {subject} (the default subject) are replaced; one line."""
    return render_message(template, {"env": env, "subject": subject})


def check_input(request: BumpRequest) -> None:
    """Refuse what the user typed wrong before touching the network (the aliases come later)."""
    if request.tag is not None:
        validate_tag(request.tag)
    for spec in request.images:
        Wanted.parse(spec, request.tag)
    if not request.images and request.tag is None:
        raise UsageError("nothing to bump: give --image NAME=TAG, or --tag with aliases in images:")
    if request.message:
        render_template(request.message, "env", "subject")


def bump(session: Session, request: BumpRequest) -> WriteResult:
    check_input(request)
    env, commit = session.environment(request.target)
    wanted = wanted_images(request.images, request.tag, dict(session.config.images))
    checks = ImageChecks.of(session.config.registry, request.verify, request.pin)
    registry = LazyRegistry(session.credentials.token, session.context.registry_environ(), session.budget)

    def build(base: str) -> Proposal:
        rules = Rules(
            aliases=session.config.images, policy=session.config.policy,
            allow_downgrade=request.allow_downgrade, allow_missing=request.allow_missing,
            holds=read_holds(session.ws, base), force=request.force,
        )
        manifests = session.manifests(env, base, needles(wanted, session.config.images))
        want = wanted
        if checks.pin:
            want = pin_wanted(wanted, environment_refs(manifests), session.config.images, registry())
        plan = make_plan(manifests, want, rules)
        refuse_shared(session.ws, session.config, env, base, manifests, plan.files, request.allow_shared)
        subject = subject_for("deploy", env.name, plan.changes)
        if request.message:
            subject = render_template(request.message, env.name, subject)
        return Proposal(plan, compose(subject, env.name, plan.changes, context=session.context))

    with registry:
        return deliver(session, "bump", env, commit, planned(session, checked(build, checks, registry)),
                       request.delivery, request.pr)
