#!/usr/bin/env bash
# Prometheus rules checks (CTest label `rules`): contrib/prometheus/amo-connect.rules.yml
# is valid (promtool check rules), its unit tests pass (promtool test rules), every alert
# has a severity, a summary, a description and a runbook_url into docs/OPERATIONS.md,
# a unit test that expects it and one that expects silence, and a runbook entry; every
# metric it reads is in the metrics table of docs/OPERATIONS.md. (That the service really
# exports those metrics is checked against a running stack: e2e ops/rules_use_exported_metrics.)
#   tests/rules/rules_test.sh SOURCE_DIR
# Needs: promtool (Debian package prometheus).
set -euo pipefail

src=$(cd "${1:?usage: rules_test.sh SOURCE_DIR}" && pwd)
dir="$src/contrib/prometheus"
rules="$dir/amo-connect.rules.yml"
tests=("$dir/amo-connect.rules.test.yml" "$dir/amo-connect.rules.long.test.yml")
ops="$src/docs/OPERATIONS.md"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/amo-rules.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
show() { sed 's/^/    | /' "$@" >&2 || true; }

if ! command -v promtool >/dev/null 2>&1; then
  fail "promtool is not installed (Debian package prometheus; make deps)"
  exit 1
fi

# ----------------------------------------------------------------------------------------
echo "== promtool"
if promtool check rules "$rules" >"$tmp/check.out" 2>&1; then
  pass "promtool check rules: $(grep -o '[0-9]* rules found' "$tmp/check.out")"
else
  fail "promtool check rules $rules"
  show "$tmp/check.out"
fi
for t in "${tests[@]}"; do
  if (cd "$dir" && promtool test rules "$(basename "$t")") >"$tmp/test.out" 2>&1; then
    pass "promtool test rules $(basename "$t")"
  else
    fail "promtool test rules $(basename "$t")"
    show "$tmp/test.out"
  fi
done

# ----------------------------------------------------------------------------------------
echo "== every alert: labels and annotations"
# One line per alert: NAME SEVERITY HAS_SUMMARY HAS_DESCRIPTION RUNBOOK_URL
awk '
  function flush() { if (name != "") print name, (sev == "" ? "-" : sev), sum, desc, (url == "" ? "-" : url) }
  /^ *- (alert|record):/ { flush(); name = ""; sev = ""; sum = 0; desc = 0; url = "" }
  /^ *- alert:/ { name = $3 }
  /^ *severity:/ { sev = $2 }
  /^ *summary:/ { sum = 1 }
  /^ *description:/ { desc = 1 }
  /^ *runbook_url:/ { url = $2; gsub(/"/, "", url) }
  END { flush() }
' "$rules" >"$tmp/alerts"
count=$(wc -l <"$tmp/alerts")
if [ "$count" -ge 1 ]; then pass "$count alerts in the rules file"; else fail "no alert found in $rules"; fi
while read -r name sev sum desc url; do
  problems=""
  case "$sev" in critical | warning) ;; *) problems="$problems severity '$sev' (critical or warning)" ;; esac
  [ "$sum" = 1 ] || problems="$problems no summary"
  [ "$desc" = 1 ] || problems="$problems no description"
  anchor=$(echo "$name" | tr 'A-Z' 'a-z')
  [ "$url" = "file:///usr/share/doc/amo-connect/OPERATIONS.md#$anchor" ] ||
    problems="$problems runbook_url '$url' is not OPERATIONS.md#$anchor"
  if [ -z "$problems" ]; then pass "$name: severity $sev, summary, description, runbook_url"; else fail "$name:$problems"; fi
done <"$tmp/alerts"

# ----------------------------------------------------------------------------------------
echo "== every alert is tested firing and not firing"
# NAME fire|quiet, one line per alert_rule_test case.
awk '
  /^ *alertname:/ { name = $2 }
  /^ *exp_alerts: *\[\] *$/ { print name, "quiet"; name = ""; next }
  /^ *exp_alerts: *$/ { print name, "fire"; name = "" }
' "${tests[@]}" >"$tmp/cases"
while read -r name _; do
  fire=$(grep -c "^$name fire$" "$tmp/cases" || true)
  quiet=$(grep -c "^$name quiet$" "$tmp/cases" || true)
  if [ "$fire" -ge 1 ] && [ "$quiet" -ge 1 ]; then
    pass "$name: $fire firing, $quiet silent cases"
  else
    fail "$name: $fire firing and $quiet silent cases (need at least one of each)"
  fi
done <"$tmp/alerts"
unknown=$(cut -d' ' -f1 "$tmp/cases" | sort -u | while read -r n; do grep -q "^$n " "$tmp/alerts" || echo "$n"; done)
if [ -z "$unknown" ]; then pass "the tests name no alert the rules lack"; else fail "tests name unknown alerts: $unknown"; fi

# ----------------------------------------------------------------------------------------
echo "== docs/OPERATIONS.md"
# The "### Alerts" section: one "#### Name" runbook entry and one table row per alert.
awk '/^### Alerts$/ { on = 1; next } on && /^##? / { on = 0 } on && /^### / { on = 0 } on' "$ops" >"$tmp/section"
if [ -s "$tmp/section" ]; then pass "OPERATIONS.md has an Alerts section"; else fail "OPERATIONS.md has no '### Alerts' section"; fi
while read -r name sev _; do
  entry=$(grep -c "^#### $name$" "$tmp/section" || true)
  row=$(grep -c "^| \`$name\` | $sev |" "$tmp/section" || true)
  if [ "$entry" = 1 ] && [ "$row" = 1 ]; then
    pass "$name: runbook entry and table row ($sev)"
  else
    fail "$name: $entry runbook entries '#### $name' and $row table rows '| \`$name\` | $sev |' in the Alerts section (need one each)"
  fi
done <"$tmp/alerts"
stale=$(sed -n 's/^#### //p' "$tmp/section" | while read -r n; do grep -q "^$n " "$tmp/alerts" || echo "$n"; done)
if [ -z "$stale" ]; then pass "every runbook entry is an alert of the rules file"; else fail "runbook entries without an alert: $stale"; fi
# Metric names the expressions read (not recording-rule names, which contain ':').
awk '
  function indent(s) { match(s, /^ */); return RLENGTH }
  /^ *expr:/ { on = 1; at = indent($0); sub(/^ *expr:/, ""); print; next }
  on && indent($0) > at && !/^ *$/ { print; next }
  { on = 0 }
' "$rules" >"$tmp/exprs"
grep -oE '(^|[^:a-z_])amo_[a-z0-9_]+' "$tmp/exprs" | grep -oE 'amo_[a-z0-9_]+' | sort -u >"$tmp/metrics"
undocumented=""
while read -r m; do grep -q "^| \`$m\` |" "$ops" || undocumented="$undocumented $m"; done <"$tmp/metrics"
if [ -z "$undocumented" ]; then
  pass "the $(wc -l <"$tmp/metrics") metrics the rules read are in the metrics table"
else
  fail "metrics used by the rules but not in OPERATIONS.md's metrics table:$undocumented"
fi

echo
echo "rules: $passed passed, $failed failed"
[ "$failed" = 0 ]
