#!/usr/bin/env bash
# The partition cutover end to end (docs/rollout-playbook.md), one `folioctl switchover`
# phase per step, each recorded in cutover_audit with row counts and checksums:
#
#   preflight -> prepare -> sync-on -> backfill -> verify -> [pilot -> verify-pilot]
#   -> cutover -> verify-cutover -> [finalize]
#
# pilot, cutover and finalize pass folioctl's verification gate only after a clean full
# verify that started after the last backfill, sync-on and repair: `verify` opens it for
# pilot and cutover (verify-pilot is incremental, --since: it can close the gate, never open
# it), verify-cutover for finalize. A separate `--from finalize` run also needs that verify
# to be younger than --max-verify-age: run `folioctl switchover verify` first. When a gated
# step exits 5, run what its message names, then resume at that step.
#
# Every phase is idempotent, so a run that stopped resumes with --from <phase>. The steps
# that change what production does (sync-on, pilot, cutover, finalize) ask "type yes" first
# unless --yes. finalize (drop the sync triggers, archive the legacy tables; no rollback
# after it) runs only with --finalize — normally a separate run after the soak period:
#   scripts/switchover_to_partitioned.sh --from finalize --finalize
#
# Options:
#   --database-url URL     direct PostgreSQL URL (default: folioctl reads DATABASE_DIRECT_URL)
#   --pilot-orgs "1 2 3"   route these organizations first, verify, then cut over the fleet
#   --verify-since DAY     YYYY-MM-DD for the verify after the pilot (default: yesterday, UTC)
#   --max-verify-age AGE   passed to finalize (default: folioctl's, 24h)
#   --finalize             end with finalize (irreversible)
#   --from PHASE           resume at PHASE (one of the names above)
#   --yes                  do not ask before the traffic-changing steps
#   --dry-run              print the numbered plan with its commands and exit
#   --folioctl PATH        folioctl binary (default: on PATH, else build/release/...)
#
# Commands are printed with any password masked; keep the password out of the arguments
# (DATABASE_DIRECT_URL, ~/.pgpass or PGPASSWORD) to copy the resume hints as they are.
# Exit status: 0 done, 2 bad usage, 1 not confirmed, else the failing folioctl's own
# (1 runtime error, 4 verify found differences, 5 refused by a safety check).
set -euo pipefail

readonly PHASES=(preflight prepare sync-on backfill verify pilot verify-pilot cutover
  verify-cutover finalize)
readonly CONFIRM_PHASES=" sync-on pilot cutover finalize "

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

die_usage() {
  echo "switchover: $*" >&2
  echo "run with --help for the options" >&2
  exit 2
}

database_url=""
pilot_orgs=""
verify_since=""
max_verify_age=""
finalize=false
from=""
yes=false
dry_run=false
folioctl=""
resume_args=() # the arguments of this run without --from, for the resume hint

while (($# > 0)); do
  opt=$1
  case $opt in
    --database-url | --pilot-orgs | --verify-since | --max-verify-age | --from | --folioctl)
      (($# >= 2)) || die_usage "$opt needs a value"
      value=$2
      shift 2
      case $opt in
        --database-url) database_url=$value ;;
        --pilot-orgs) pilot_orgs=$value ;;
        --verify-since) verify_since=$value ;;
        --max-verify-age) max_verify_age=$value ;;
        --from) from=$value ;;
        --folioctl) folioctl=$value ;;
      esac
      [[ $opt == --from ]] || resume_args+=("$opt" "$value")
      ;;
    --finalize | --yes | --dry-run)
      shift
      case $opt in
        --finalize) finalize=true ;;
        --yes) yes=true ;;
        --dry-run) dry_run=true ;;
      esac
      [[ $opt == --dry-run ]] || resume_args+=("$opt")
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die_usage "unknown option '$opt'" ;;
  esac
done

if [[ -n $from ]] && [[ " ${PHASES[*]} " != *" $from "* ]]; then
  die_usage "--from must be one of: ${PHASES[*]}"
fi
read -r -a pilot_list <<<"$pilot_orgs"
for org in "${pilot_list[@]}"; do
  [[ $org =~ ^[1-9][0-9]*$ ]] || die_usage "--pilot-orgs takes organization ids, got '$org'"
done
if [[ -z $verify_since ]]; then
  verify_since=$(date -u -d '1 day ago' +%F)
fi
[[ $verify_since =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || die_usage "--verify-since takes YYYY-MM-DD"

if [[ -z $folioctl ]]; then
  if command -v folioctl >/dev/null 2>&1; then
    folioctl=$(command -v folioctl)
  else
    folioctl="$(cd "$(dirname "$0")/.." && pwd)/build/release/apps/folioctl/folioctl"
  fi
fi

db_args=()
[[ -z $database_url ]] || db_args=(--database-url "$database_url")

# The command of one phase, in the array `cmd`.
phase_command() {
  cmd=("$folioctl" switchover)
  case $1 in
    pilot) cmd+=(pilot add "${pilot_list[@]}") ;;
    verify-pilot) cmd+=(verify --since "$verify_since") ;;
    verify-cutover) cmd+=(verify) ;;
    finalize)
      cmd+=(finalize --confirm)
      [[ -z $max_verify_age ]] || cmd+=(--max-verify-age "$max_verify_age")
      ;;
    *) cmd+=("$1") ;;
  esac
  cmd+=("${db_args[@]}")
}

# Why a phase is left out of this run, or nothing.
skip_reason() {
  case $1 in
    pilot | verify-pilot) [[ ${#pilot_list[@]} -gt 0 ]] || echo "no --pilot-orgs" ;;
    finalize) $finalize || echo "irreversible: only with --finalize" ;;
  esac
}

# A command for display: shell-quoted, with any password in a URL or DSN masked.
show() {
  local text
  text=$(printf '%q ' "$@")
  text=${text% }
  sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#g; s#(password=)[^ ]*#\1***#g' <<<"$text"
}

resume_hint() {
  show "$0" --from "$1" "${resume_args[@]}"
}

plan=()
started=false
[[ -n $from ]] || started=true
for phase in "${PHASES[@]}"; do
  [[ $phase == "$from" ]] && started=true
  $started || continue
  [[ -n $(skip_reason "$phase") ]] && continue
  plan+=("$phase")
done

if $dry_run; then
  echo "switchover plan (${#plan[@]} steps):"
  n=0
  for phase in "${plan[@]}"; do
    n=$((n + 1))
    phase_command "$phase"
    mark=""
    [[ $CONFIRM_PHASES != *" $phase "* ]] || $yes || mark="  [asks: type yes]"
    printf '%2d. %-15s %s%s\n' "$n" "$phase" "$(show "${cmd[@]}")" "$mark"
  done
  for phase in "${PHASES[@]}"; do
    reason=$(skip_reason "$phase")
    [[ -z $reason ]] || printf '    %-15s skipped: %s\n' "$phase" "$reason"
  done
  exit 0
fi

if [[ ! -x $folioctl ]]; then
  echo "switchover: folioctl not found at $folioctl (pass --folioctl PATH)" >&2
  exit 2
fi

n=0
for phase in "${plan[@]}"; do
  n=$((n + 1))
  phase_command "$phase"
  echo
  echo "==> [$n/${#plan[@]}] $phase: $(show "${cmd[@]}")"
  if [[ $CONFIRM_PHASES == *" $phase "* ]] && ! $yes; then
    answer=""
    read -r -p "$phase changes what production does. Type yes to continue: " answer || true
    if [[ $answer != yes ]]; then
      echo "stopped before $phase (not confirmed); resume with: $(resume_hint "$phase")" >&2
      exit 1
    fi
  fi
  rc=0
  "${cmd[@]}" || rc=$?
  if ((rc != 0)); then
    echo >&2
    echo "failed at $phase (exit $rc); fix the cause and resume with: $(resume_hint "$phase")" >&2
    exit "$rc"
  fi
done

echo
echo "==> status"
"$folioctl" switchover status "${db_args[@]}" || true
echo
if [[ " ${plan[*]} " == *" finalize "* ]]; then
  echo "switchover finished: the partitioned tables are the only copy; legacy is archived."
elif [[ " ${plan[*]} " == *" cutover "* ]]; then
  echo "switchover done up to cutover. Rollback: $(show "$folioctl" switchover rollback \
    "${db_args[@]}")"
  # The irreversible step is confirmed by hand: no --yes in the suggestion.
  finalize_args=()
  skip_value=false
  for arg in "${resume_args[@]}"; do
    if $skip_value; then
      skip_value=false
      continue
    fi
    case $arg in
      --yes) ;;
      --pilot-orgs | --verify-since) skip_value=true ;;
      *) finalize_args+=("$arg") ;;
    esac
  done
  echo "After the soak period and a clean verify: $(show "$0" --from finalize \
    "${finalize_args[@]}" --finalize)"
fi
