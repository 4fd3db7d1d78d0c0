#!/usr/bin/env bash
# Every alert rule must carry labels.severity (critical or warning), annotations summary,
# description and runbook_url, and its runbook_url must lead to a section of the runbook:
# https://github.com/folio/folio/blob/main/docs/runbook.md#<anchor>, where <anchor> is the
# GitHub anchor of a "## " heading of docs/runbook.md and is the alert's name in lower case.
# The alerts' sections must follow the order of the rules.
#
# Usage: runbook_anchors.sh RUNBOOK.md ALERT_RULES.yml...
# Exit 0 when everything holds; 1 with one line per problem otherwise.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 RUNBOOK.md ALERT_RULES.yml..." >&2
  exit 2
fi
runbook=$1
shift
readonly url_prefix="https://github.com/folio/folio/blob/main/docs/runbook.md#"

for f in "$runbook" "$@"; do
  [[ -r $f ]] || { echo "cannot read $f" >&2; exit 1; }
done

# GitHub's anchor of a heading: lower case, punctuation other than '-' and '_' dropped,
# spaces to '-'.
anchors=$(sed -n 's/^## \(.*\)$/\1/p' "$runbook" | sed 's/[[:space:]]*$//' |
  tr '[:upper:]' '[:lower:]' | sed 's/[^a-z0-9 _-]//g; s/ /-/g')

# One line per alert rule: file, name, severity, summary?, description?, runbook_url. The
# rule files are YAML in the layout promtool accepts; a rule starts at "- alert:" or
# "- record:" and its keys are read up to the next rule or group.
rules=$(awk '
  function flush() {
    if (name != "") printf "%s\t%s\t%s\t%s\t%s\t%s\n", FILENAME, name, sev, summ, desc, url
    name = ""; sev = "-"; summ = "-"; desc = "-"; url = "-"
  }
  FNR == 1 { flush() }
  /^[[:space:]]*- (alert|record|name):/ { flush() }
  /^[[:space:]]*- alert:/ { name = $3 }
  name != "" && /^[[:space:]]+severity:/ { sev = $2 }
  name != "" && /^[[:space:]]+summary:/ { summ = "yes" }
  name != "" && /^[[:space:]]+description:/ { desc = "yes" }
  name != "" && /^[[:space:]]+runbook_url:/ { url = $2 }
  END { flush() }
' "$@")

problems=0
report() {
  echo "$1"
  problems=$((problems + 1))
}

if [[ -z $rules ]]; then
  report "no alert rules found in $*"
fi

order=()
while IFS=$'\t' read -r file name severity summary description url; do
  [[ -n $name ]] || continue
  order+=("$name")
  where="$file: $name"
  case $severity in
    critical | warning) ;;
    -) report "$where: no labels.severity" ;;
    *) report "$where: labels.severity is '$severity', not critical or warning" ;;
  esac
  [[ $summary == yes ]] || report "$where: no annotations.summary"
  [[ $description == yes ]] || report "$where: no annotations.description"
  if [[ $url == - ]]; then
    report "$where: no annotations.runbook_url"
    continue
  fi
  if [[ $url != "$url_prefix"* ]]; then
    report "$where: runbook_url '$url' does not start with $url_prefix"
    continue
  fi
  anchor=${url#"$url_prefix"}
  expected=$(tr '[:upper:]' '[:lower:]' <<<"$name")
  [[ $anchor == "$expected" ]] ||
    report "$where: runbook_url anchor '#$anchor' is not the alert's name in lower case (#$expected)"
  grep -qxF -- "$anchor" <<<"$anchors" ||
    report "$where: no '## ' heading of $runbook has the anchor '#$anchor'"
done <<<"$rules"

# The alerts' sections, in the order of the rules.
sections=()
while read -r heading; do
  for name in "${order[@]}"; do
    if [[ $heading == "$name" ]]; then
      sections+=("$heading")
      break
    fi
  done
done < <(sed -n 's/^## \(.*\)$/\1/p' "$runbook" | sed 's/[[:space:]]*$//')
if [[ "${sections[*]}" != "${order[*]}" ]]; then
  report "the alert sections of $runbook are not in the order of the rules:"
  report "  rules:   ${order[*]}"
  report "  runbook: ${sections[*]}"
fi

if ((problems > 0)); then
  exit 1
fi
echo "${#order[@]} alerts: severity, summary, description and runbook_url present; every runbook_url leads to its section of $runbook, in order"
