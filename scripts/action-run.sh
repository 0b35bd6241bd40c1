#!/usr/bin/env bash
# The "Run gitops-bot" step of action.yml.
#
# Every input arrives as an INPUT_* environment variable (mapped in action.yml's `env:`), never as
# `${{ }}` text inside a script, so no input value is ever parsed as shell code. This script turns
# them into one argv array for the CLI, adding a flag only for an input that is set, and replaces
# itself with `gitops-bot`, whose exit code (0, 1, 2, or 3 for degraded health) becomes the step's.
# The token reaches the CLI only as GITOPS_BOT_TOKEN in the environment, never in argv.
#
# Written for bash 3.2 as well (the macOS system bash): no mapfile, no namerefs, no ${x,,}.
set -euo pipefail

# Workflow-command data escaping, so that no input value can start a `::command::` line of its own.
escape() {
  local s=$1
  s=${s//'%'/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  printf '%s' "$s"
}

die() {
  printf '::error title=gitops-bot::%s\n' "$(escape "$1")"
  exit 2
}

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  s=${s%"${s##*[![:space:]]}"}
  printf '%s' "$s"
}

# split SEPARATORS VALUE: print the non-empty, trimmed items of VALUE, one per line.
split() {
  local item
  while IFS= read -r item || [ -n "$item" ]; do
    item=$(trim "$item")
    if [ -n "$item" ]; then
      printf '%s\n' "$item"
    fi
  done < <(printf '%s' "$2" | tr "$1" '\n')
}

is_true() {
  case "$1" in
    true | True | TRUE) return 0 ;;
    false | False | FALSE | '') return 1 ;;
    *) die "input '$2' must be true or false, got '$1'" ;;
  esac
}

command=$(trim "${INPUT_COMMAND:-bump}")
environment=$(trim "${INPUT_ENVIRONMENT:-}")
ref=$(trim "${INPUT_REF:-}")
tag=$(trim "${INPUT_TAG:-}")
images=${INPUT_IMAGES:-}

# --- global options ---------------------------------------------------------------------------
args=()
repository=$(trim "${INPUT_GITOPS_REPOSITORY:-}")
config=$(trim "${INPUT_CONFIG:-}")
if [ -n "$repository" ]; then args+=(--repo "$repository"); fi
if [ -n "$config" ]; then args+=(--config "$config"); fi
if is_true "$(trim "${INPUT_DRY_RUN:-false}")" dry-run; then args+=(--dry-run); fi

# Inputs this command reads (the others, when set, get a warning instead of being dropped silently).
used=""

need_environment() {
  if [ -z "$environment" ]; then die "command '$command' needs the 'environment' input"; fi
  args+=(--env "$environment")
}

add_images() { # add_images WITH_TAG: one --image per item of `images`; WITH_TAG appends =tag to bare names
  local item
  while IFS= read -r item; do
    if [ "$1" = with-tag ] && [ "${item#*[=@]}" = "$item" ]; then
      if [ -z "$tag" ]; then die "image '$item' has no tag and the 'tag' input is empty"; fi
      item="$item=$tag"
    fi
    args+=(--image "$item")
  done < <(split ',' "$images")
}

add_pr_options() {
  local delivery item
  delivery=$(trim "${INPUT_DELIVERY:-}")
  if [ -n "$delivery" ]; then args+=(--delivery "$delivery"); fi
  while IFS= read -r item; do args+=(--label "$item"); done < <(split ',' "${INPUT_LABELS:-}")
  while IFS= read -r item; do args+=(--reviewer "$item"); done < <(split $', \t' "${INPUT_REVIEWERS:-}")
  used="$used delivery labels reviewers"
}

add_wait() { # --wait [--wait-timeout=S] for a push-delivery write command (docs/github.md)
  local timeout
  if is_true "$(trim "${INPUT_WAIT:-false}")" wait; then
    args+=(--wait)
    timeout=$(trim "${INPUT_WAIT_TIMEOUT:-}")
    if [ -n "$timeout" ]; then args+=("--wait-timeout=$timeout"); fi
    used="$used wait-timeout"
  fi
  used="$used wait"
}

add_registry_options() { # add_registry_options [pin]: --[no-]verify-image, and --[no-]pin-digest with `pin`
  local value
  value=$(trim "${INPUT_VERIFY_IMAGE:-}")
  if [ -n "$value" ]; then
    if is_true "$value" verify-image; then args+=(--verify-image); else args+=(--no-verify-image); fi
  fi
  used="$used verify-image"
  if [ "${1:-}" = pin ]; then
    value=$(trim "${INPUT_PIN_DIGEST:-}")
    if [ -n "$value" ]; then
      if is_true "$value" pin-digest; then args+=(--pin-digest); else args+=(--no-pin-digest); fi
    fi
    used="$used pin-digest"
  fi
}

# --- the command --------------------------------------------------------------------------------
case "$command" in
  bump)
    args+=(bump)
    if [ -n "$environment" ]; then
      args+=(--env "$environment")
    elif [ -n "$ref" ]; then
      args+=(--ref "$ref")
    else
      die "command 'bump' needs the 'environment' or the 'ref' input"
    fi
    add_images plain
    if [ -n "$tag" ]; then args+=(--tag "$tag"); fi
    add_registry_options pin
    add_pr_options
    add_wait
    used="$used environment images"
    ;;
  revert)
    args+=(revert)
    shas=()
    while IFS= read -r sha; do
      # commit SHAs only: an input starting with '-' must never become a CLI option
      if ! [[ "$sha" =~ ^[0-9a-fA-F]{4,40}$ ]]; then die "input 'commits': '$sha' is not a commit SHA"; fi
      shas+=("$sha")
    done < <(split $', \t' "${INPUT_COMMITS:-}")
    if [ "${#shas[@]}" -eq 0 ]; then die "command 'revert' needs the 'commits' input"; fi
    need_environment
    add_pr_options
    add_wait
    args+=(-- "${shas[@]}")
    used="$used environment commits"
    ;;
  rollback)
    args+=(rollback)
    need_environment
    steps=$(trim "${INPUT_STEPS:-}")
    to=$(trim "${INPUT_TO:-}")
    if [ -n "$steps" ] && [ -n "$to" ]; then die "command 'rollback' takes 'steps' or 'to', not both"; fi
    if [ -z "$steps" ] && [ -z "$to" ]; then die "command 'rollback' needs the 'steps' or the 'to' input"; fi
    if [ -n "$steps" ]; then args+=(--steps "$steps"); else args+=(--to "$to"); fi
    add_registry_options pin
    add_pr_options
    add_wait
    used="$used environment steps to"
    ;;
  promote)
    from=$(trim "${INPUT_FROM:-}")
    if [ -z "$from" ]; then die "command 'promote' needs the 'from' input"; fi
    if [ -z "$environment" ]; then die "command 'promote' needs the 'environment' input (the target)"; fi
    args+=(promote --from "$from" --to "$environment")
    add_images plain
    add_registry_options pin
    add_pr_options
    add_wait
    used="$used environment from images"
    ;;
  canary-start)
    args+=(canary start)
    need_environment
    add_images with-tag
    weight=$(trim "${INPUT_CANARY_WEIGHT:-}")
    if [ -n "$weight" ]; then args+=(--weight "$weight"); fi
    add_registry_options pin
    add_pr_options
    add_wait
    used="$used environment images canary-weight"
    ;;
  canary-promote | canary-abort)
    args+=(canary "${command#canary-}")
    need_environment
    add_pr_options
    add_wait
    used="$used environment"
    ;;
  watch)
    args+=(watch)
    need_environment
    n=0
    while IFS= read -r url; do
      args+=(--check "$url")
      n=$((n + 1))
    done < <(split $' \t' "${INPUT_HEALTH_CHECKS:-}")
    if [ "$n" -eq 0 ]; then die "command 'watch' needs the 'health-checks' input"; fi
    for pair in checks:--checks interval:--interval threshold:--threshold on-failure:--on-failure \
                on-success:--on-success; do
      var=$(printf 'INPUT_%s' "${pair%%:*}" | tr 'a-z-' 'A-Z_')
      value=$(trim "${!var:-}")
      # values are checked by the CLI; `=` keeps a value starting with '-' from becoming an option
      if [ -n "$value" ]; then args+=("${pair#*:}=$value"); fi
    done
    used="$used environment health-checks checks interval threshold on-failure on-success"
    ;;
  status | validate)
    args+=("$command")
    if [ -n "$environment" ]; then args+=(--env "$environment"); fi
    used="$used environment"
    ;;
  hold | unhold)
    args+=("$command")
    need_environment
    if [ -z "$(split ',' "$images")" ]; then die "command '$command' needs the 'images' input (image names)"; fi
    add_images plain
    if [ "$command" = hold ]; then
      reason=$(trim "${INPUT_REASON:-}")
      if [ -z "$reason" ]; then
        reason="held by ${GITHUB_WORKFLOW:-a workflow}"
        if [ -n "${GITHUB_RUN_ID:-}" ]; then
          reason="$reason (${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/$GITHUB_RUN_ID)"
        fi
      fi
      args+=(--reason "$reason")
      used="$used reason"
    fi
    delivery=$(trim "${INPUT_DELIVERY:-}")
    if [ -n "$delivery" ]; then args+=(--delivery "$delivery"); fi
    used="$used environment images delivery"
    ;;
  wait)
    args+=(wait)
    need_environment
    commit=$(trim "${INPUT_COMMIT:-}")
    if [ -n "$commit" ]; then
      if ! [[ "$commit" =~ ^[0-9a-fA-F]{7,40}$ ]]; then die "input 'commit': '$commit' is not a commit SHA"; fi
      args+=(--commit "$commit")
    fi
    timeout=$(trim "${INPUT_WAIT_TIMEOUT:-}")
    if [ -n "$timeout" ]; then args+=("--timeout=$timeout"); fi
    used="$used environment commit wait-timeout"
    ;;
  reconcile)
    args+=(reconcile)
    need_environment
    add_images plain
    add_registry_options pin
    add_pr_options
    add_wait
    used="$used environment images"
    ;;
  *)
    die "unknown command '$command'; expected one of: bump, revert, rollback, promote, canary-start, canary-promote, canary-abort, watch, status, validate, hold, unhold, reconcile, wait"
    ;;
esac

# `ref` and `tag` always have a value (their defaults), so only the optional inputs are checked.
for name in environment images commits steps to from canary-weight health-checks checks interval threshold \
            on-failure on-success labels reviewers delivery reason wait-timeout commit verify-image pin-digest; do
  var=$(printf 'INPUT_%s' "$name" | tr 'a-z-' 'A-Z_')
  case " $used " in
    *" $name "*) ;;
    *) if [ -n "$(trim "${!var:-}")" ]; then printf "::warning title=gitops-bot::input '%s' is not used by command '%s'\n" "$name" "$command"; fi ;;
  esac
done

# The App given as inputs is what this step authenticates with: a GITHUB_TOKEN the job's `env:` sets
# (often for the gh CLI) would otherwise come first and replace it (docs/github.md).
if [ -z "${GITOPS_BOT_TOKEN:-}" ] && [ -n "${GITOPS_BOT_APP_ID:-}" ]; then unset GITHUB_TOKEN; fi

venv="$RUNNER_TEMP/gitops-bot-venv"
bot="$venv/bin/gitops-bot"
if [ ! -x "$bot" ] && [ -x "$venv/Scripts/gitops-bot.exe" ]; then bot="$venv/Scripts/gitops-bot.exe"; fi
if [ ! -x "$bot" ]; then
  printf '::error title=gitops-bot::%s is missing: the install step did not run\n' "$bot"
  exit 1
fi

printf 'gitops-bot'
printf ' %q' "${args[@]}"
printf '\n'
exec "$bot" "${args[@]}"
