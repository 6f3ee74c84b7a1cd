#!/usr/bin/env bash
# `make soak`: SOAK_SECONDS (300) of mixed load through nginx against the amoCRM simulator,
# watching the server for leaks. Not a benchmark and not part of the tests.
#
#   bash tools/soak.sh [BUILD_DIR]    (BUILD_DIR holds amo-connect and tools/amo-sim/amo-sim)
#
# The load: wrk keeps SOAK_CONNECTIONS connections busy with status (50 %), leads (30 %,
# a few queries) and pipelines (20 %) of SOAK_USERS connected users, each request signed for
# the next user, SOAK_DELAY_MS between two requests of one connection; beside it a loop
# makes new connections (auth-url, the simulator's consent, the callback), reconnects and
# disconnects users and calls test, one round every SOAK_ROUND_S seconds. The first 15 s are a
# warm-up (the pool, the store, the allocator's arenas fill); every 15 s a sample: server RSS,
# open fds (/proc/PID/fd), PostgreSQL client backends (pg_stat_activity), requests so far
# and the 5xx and 429 among them (from nginx's access log, so every request counts). The
# load pauses for an idle sample after the warm-up and at the end; those two are compared.
# PASS: no 5xx at all, RSS grew less than 10 % after the warm-up, no more fds and no more
# database backends at the end than after the warm-up — except that the pool opens its
# connections on demand, so it may still grow up to DB_POOL_SIZE (one backend and one fd
# each) after a short warm-up; anything beyond that is a leak. Exit status 1 on FAIL.
#
# Settings (environment): SOAK_SECONDS (300), SOAK_USERS (10), SOAK_CONNECTIONS (4),
# SOAK_DELAY_MS (4), SOAK_ROUND_S (2), WORKER_THREADS (16), DB_POOL_SIZE (8), LOG_LEVEL
# (warn), LEADS_FRESH_S (10: the account's 7 requests/s must carry leads, pipelines, test
# and the connects).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
seconds=${SOAK_SECONDS:-300}
users=${SOAK_USERS:-10}
conns=${SOAK_CONNECTIONS:-4}
delay_ms=${SOAK_DELAY_MS:-4}
round_s=${SOAK_ROUND_S:-2}
warmup=15
every=15

die() { echo "soak: $*" >&2; exit 2; }
# bench_init, bench_cleanup, free_port, wait_http, stack_start, connect_user, connect_token
source "$root/tools/bench_common.sh"
[ -x "$build/amo-connect" ] || die "$build/amo-connect not found (make build)"
[ -x "$build/tools/amo-sim/amo-sim" ] || die "$build/tools/amo-sim/amo-sim not found (make build)"
[ "$seconds" -gt $((warmup + every)) ] || die "SOAK_SECONDS must be more than $((warmup + every))"
bench_init soak wrk nginx psql curl

export WORKER_THREADS=${WORKER_THREADS:-16}
export DB_POOL_SIZE=${DB_POOL_SIZE:-8}
export LOG_LEVEL=${LOG_LEVEL:-warn}
export LEADS_FRESH_S=${LEADS_FRESH_S:-10}
stack_start sim
access="$tmp/nginx/access.log"

echo "soak: connecting $users users (through the callback)"
: >"$tmp/tokens"
for i in $(seq "$users"); do
  connect_user "soak-$i" >>"$tmp/tokens" || die "connecting soak-$i failed"
done

cat >"$tmp/mix.lua" <<LUA
local tokens = {}
for line in io.lines("$tmp/tokens") do tokens[#tokens + 1] = line end
local paths = {"/api/amo-crm/status", "/api/v1/integrations/amo-crm/status",
               "/api/amo-crm/status", "/api/v1/integrations/amo-crm/status",
               "/api/amo-crm/status",
               "/api/amo-crm/leads?limit=50", "/api/v1/integrations/amo-crm/leads?page=2&limit=10",
               "/api/amo-crm/leads?order=id:asc",
               "/api/amo-crm/pipelines", "/api/v1/integrations/amo-crm/pipelines"}
local n, k = 0, 0
function init(args) n = math.random(#tokens); k = math.random(#paths) end
function delay() return $delay_ms end
function request()
  n = n % #tokens + 1
  k = k % #paths + 1
  return wrk.format("GET", paths[k], {["Authorization"] = "Bearer " .. tokens[n]})
end
LUA

# One round of the connection churn: a new user connects, one of the pool reconnects, the
# new user of the previous round disconnects (and its JWT asks status and test once).
churn() {  # UNTIL (epoch seconds) TAG
  local until=$1 tag=$2 round=0 tok prev="" st
  while [ "$(date +%s)" -lt "$until" ]; do
    round=$((round + 1))
    tok=$("$build/amo-connect" dev-token "soak-new-$tag-$round")
    connect_token "$tok" || echo "soak: round $round: a new connection failed" >&2
    connect_token "$(sed -n "$((round % users + 1))p" "$tmp/tokens")" ||
      echo "soak: round $round: a reconnection failed" >&2
    curl -s -o /dev/null -H "Authorization: Bearer $tok" "$base/api/amo-crm/test"
    if [ -n "$prev" ]; then
      st=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $prev" \
        "$base/api/v1/integrations/amo-crm/disconnect")
      [ "$st" = 200 ] || echo "soak: round $round: disconnect answered $st" >&2
      curl -s -o /dev/null -H "Authorization: Bearer $prev" "$base/api/amo-crm/status"
    fi
    prev=$tok
    sleep "$round_s"
  done
}

# load SECONDS TAG: wrk and the churn loop for that long (in the background; wait_load).
load() {
  local s=$1
  wrk -t1 -c"$conns" -d"${s}s" --timeout 30s -s "$tmp/mix.lua" "$base/api/amo-crm/status" >"$tmp/wrk-$2.txt" 2>&1 &
  wrk_pid=$!
  pids+=("$wrk_pid")
  churn $(($(date +%s) + s)) "$2" 2>>"$tmp/churn.log" &
  churn_pid=$!
  pids+=("$churn_pid")
}
wait_load() {
  wait "$wrk_pid" || die "wrk failed: $(cat "$tmp"/wrk-*.txt)"
  wait "$churn_pid" || true
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$amo_pid/status"; }
fds() { ls "/proc/$amo_pid/fd" | wc -l; }
backends() {
  psql "$DATABASE_URL" -tAq -c "SELECT count(*) FROM pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
}
requests() { wc -l <"$access"; }
status_count() { grep -c "\"status\":$1" "$access" || true; }  # a prefix: 5 → every 5xx

printf 'soak: %s s of mixed load, %s users, wrk -c%s (%s ms between requests), a connect round every %s s\n' \
  "$seconds" "$users" "$conns" "$delay_ms" "$round_s"
printf '%8s %10s %6s %9s %10s %6s %6s\n' "t (s)" "RSS KiB" fds backends requests 5xx 429
sample() {  # LABEL
  printf '%8s %10s %6s %9s %10s %6s %6s\n' "$1" "$(rss_kib)" "$(fds)" "$(backends)" "$(requests)" \
    "$(status_count 5)" "$(status_count 429)"
}

# Idle fds of the server: PostgreSQL connections of the pool (at most DB_POOL_SIZE) and one
# kept-alive connection to amoCRM per worker thread that has called it (libcurl's cache).
# The warm-up ends with WORKER_THREADS concurrent test calls, so that every worker thread
# has made its amoCRM connection before the reference sample.
fd_kinds() {
  ls -l "/proc/$amo_pid/fd" 2>/dev/null | awk 'NR > 1 {
    t = $NF; sub(/:.*/, "", t); if (t ~ /^\//) t = "file"; n[t]++ }
    END { for (k in n) printf "%s %d, ", k, n[k] }' | sed 's/, $//'
}
started=$(date +%s)
load "$warmup" warmup
wait_load
for i in $(seq "$WORKER_THREADS"); do sed -n "$(((i - 1) % users + 1))p" "$tmp/tokens"; done |
  xargs -P "$WORKER_THREADS" -I{} curl -s -o /dev/null -H "Authorization: Bearer {}" "$base/api/amo-crm/test"
sleep 2
idle_first=("$(rss_kib)" "$(fds)" "$(backends)")
sample "idle"
kinds_first=$(fd_kinds)

load $((seconds - warmup)) main
t=$warmup
first_live=""
while [ $((t + every)) -le "$seconds" ]; do
  sleep $((started + t + every - $(date +%s) > 0 ? started + t + every - $(date +%s) : 0))
  t=$((t + every))
  line=$(sample "$t")
  echo "$line"
  [ -n "$first_live" ] || first_live=$line
  last_live=$line
done
wait_load
sleep 2
idle_last=("$(rss_kib)" "$(fds)" "$(backends)")
sample "idle"
kinds_last=$(fd_kinds)

total=$(requests)
n5xx=$(status_count 5)
n429=$(status_count 429)
churn_errors=$(grep -c . "$tmp/churn.log" || true)
growth=$(awk -v a="${idle_first[0]}" -v b="${idle_last[0]}" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
echo
echo "soak: first live sample: $first_live"
echo "soak: last live sample:  $last_live"
echo "soak: after the warm-up (idle): RSS ${idle_first[0]} KiB, ${idle_first[1]} fds ($kinds_first), ${idle_first[2]} backends"
echo "soak: at the end (idle):        RSS ${idle_last[0]} KiB, ${idle_last[1]} fds ($kinds_last), ${idle_last[2]} backends"
echo "soak: $total requests, $n5xx 5xx, $n429 429, RSS growth $growth %, churn errors $churn_errors"
sed -n '/Requests\/sec/p' "$tmp/wrk-main.txt" | sed 's/^/soak: wrk /'
if [ "$n5xx" -gt 0 ]; then
  echo "soak: 5xx answers, e.g.:"
  grep '"status":5' "$access" | head -5
  tail -20 "$tmp/amo-connect.log"
fi
[ "$churn_errors" = 0 ] || head -5 "$tmp/churn.log"
fail=()
[ "$n5xx" = 0 ] || fail+=("$n5xx answers were 5xx")
awk -v g="$growth" 'BEGIN {exit !(g < 10)}' || fail+=("RSS grew $growth % (limit 10 %)")
# The pool's headroom at the reference sample: connections it may still open, not leaks.
headroom=$((DB_POOL_SIZE > idle_first[2] ? DB_POOL_SIZE - idle_first[2] : 0))
[ "${idle_last[1]}" -le $((idle_first[1] + headroom)) ] ||
  fail+=("open fds grew ${idle_first[1]} → ${idle_last[1]} (the pool's headroom was $headroom)")
[ "${idle_last[2]}" -le $((idle_first[2] + headroom)) ] ||
  fail+=("database backends grew ${idle_first[2]} → ${idle_last[2]} (beyond DB_POOL_SIZE=$DB_POOL_SIZE)")
[ "$churn_errors" = 0 ] || fail+=("$churn_errors connect/disconnect rounds failed")
if [ ${#fail[@]} = 0 ]; then
  echo "soak: PASS"
else
  printf 'soak: FAIL: %s\n' "${fail[@]}"
  exit 1
fi
