#!/usr/bin/env bash
# `make bench` (second part): GET /api/amo-crm/leads for 50 users of ONE amoCRM account
# (the amoCRM simulator, 7 requests/s per account like amoCRM), with and without the leads
# store. wrk keeps 50 connections busy, each request signed for the next of the 50 users;
# we report req/s, p50/p99, non-2xx, stale answers and how many calls reached amoCRM.
# Everything runs in a throwaway directory under /tmp that is removed on exit.
#
#   bash tools/bench_leads.sh [BUILD_DIR]    (BUILD_DIR holds amo-connect and tools/amo-sim/amo-sim)
#
# Settings (environment):
#   BENCH_LEADS_DURATION  wrk duration of each run (10s)
#   BENCH_LEADS_USERS     connected users, all of one account (50)
#   BENCH_LEADS_FRESH     the LEADS_FRESH_S values to run ("0 5 30"; 0 = no store); each
#                         value > 0 runs twice: cold (empty store) and warm (after one
#                         request per user)
#   BENCH_LEADS_QUERY     the query every user asks for (limit=50)
#   WRK_THREADS           wrk -t (2); wrk -c is the number of users
#   WORKER_THREADS, DB_POOL_SIZE, LOG_LEVEL   amo-connect (64 / 8 / warn)
#   BENCH_LEADS_SEQ_ROUNDS, BENCH_LEADS_SEQ_DURATION   the one-at-a-time added latency
#                         against the simulator answered directly (3 rounds of 4s)
# Exit status: non-zero only when something failed to start, never because of the numbers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
duration=${BENCH_LEADS_DURATION:-10s}
users=${BENCH_LEADS_USERS:-50}
fresh_values=${BENCH_LEADS_FRESH:-0 5 30}
query=${BENCH_LEADS_QUERY:-limit=50}
wrk_threads=${WRK_THREADS:-2}

die() { echo "bench-leads: $*" >&2; exit 1; }
# bench_init, bench_cleanup, free_port, wait_http, to_ms, stack_start, start_server, connect_user
source "$root/tools/bench_common.sh"
[ -x "$build/amo-connect" ] || die "$build/amo-connect not found (make build)"
[ -x "$build/tools/amo-sim/amo-sim" ] || die "$build/tools/amo-sim/amo-sim not found (make build)"
bench_init bench-leads wrk nginx psql curl

sim_counter() {  # NAME → the simulator's counter
  curl -sf "$sim/_sim/counters" | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

# ---------------------------------------------------------------- the stack
export WORKER_THREADS=${WORKER_THREADS:-64}
export DB_POOL_SIZE=${DB_POOL_SIZE:-8}
export LOG_LEVEL=${LOG_LEVEL:-warn}
stack_start sim  # PostgreSQL, the simulator, amo-connect (LEADS_FRESH_S 5) and nginx

# ---------------------------------------------------------------- 50 agents, one account
echo "bench-leads: connecting $users users to one account (through the callback)"
: >"$tmp/tokens"
for i in $(seq "$users"); do
  tok=$(connect_user "agent-$i") || die "connecting agent-$i failed"
  echo "$tok" >>"$tmp/tokens"
done
accounts=$(psql "$DATABASE_URL" -tAq -c "SELECT count(DISTINCT account_id) || ' account(s), ' || count(*) || ' connections' FROM amo_connection")
echo "bench-leads: $accounts"

# Each request is signed for the next user; stale answers are counted from the bodies.
cat >"$tmp/leads.lua" <<LUA
local tokens = {}
for line in io.lines("$tmp/tokens") do tokens[#tokens + 1] = line end
local threads = {}
function setup(thread) table.insert(threads, thread) end
n, stale, ok = 0, 0, 0  -- globals: done() reads them from each thread
function init(args) n = math.random(#tokens) end
function request()
  n = n % #tokens + 1
  return wrk.format("GET", "/api/amo-crm/leads?$query", {["Authorization"] = "Bearer " .. tokens[n]})
end
codes = ""  -- the first answer of each other status, for the log
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif not codes:find("<" .. status .. ">", 1, true) then
    codes = codes .. "<" .. status .. "> " .. body:sub(1, 160) .. "\n"
  end
  if status == 200 and body:find('"stale":true', 1, true) then stale = stale + 1 end
end
function done(summary, latency, requests)
  local s, o = 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("stale"); o = o + t:get("ok")
    if t:get("codes") ~= "" then io.write("other answers, e.g.:\n" .. t:get("codes")) end
  end
  io.write(string.format("ok200 %d\nstale %d\n", o, s))
end
LUA

declare -A R
runs=()
run() {  # LEADS_FRESH_S cold|warm
  local fresh=$1 mode=$2 name out before id=$1.$2 started
  name=$([ "$fresh" = 0 ] && echo "no store" || echo "store FRESH_S=$fresh, $mode")
  runs+=("$id")
  stop_server
  psql "$DATABASE_URL" -q -c "DELETE FROM amo_response_store; DELETE FROM amo_rate_limit" >/dev/null
  start_server LEADS_FRESH_S="$fresh"
  R[$id.warm]=-
  if [ "$mode" = warm ]; then
    # Every agent opened the list a moment ago: one request each, one after the other
    # (all at once, most would wait past AMO_RATE_LIMIT_MAX_WAIT_MS for the account's pace).
    started=$(date +%s.%N)
    local st failed=0
    while IFS= read -r tok; do
      st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$base/api/amo-crm/leads?$query")
      [ "$st" = 200 ] || failed=$((failed + 1))
    done <"$tmp/tokens"
    [ "$failed" = 0 ] || echo "bench-leads: $name: $failed warm-up requests did not answer 200"
    R[$id.warm]=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    psql "$DATABASE_URL" -q -c "DELETE FROM amo_rate_limit" >/dev/null
  fi
  before=$(sim_counter leads)
  echo "bench-leads: $name: wrk -t$wrk_threads -c$users -d$duration --timeout 30s --latency"
  out=$(wrk -t"$wrk_threads" -c"$users" -d"$duration" --timeout 30s --latency -s "$tmp/leads.lua" "$base/api/amo-crm/leads?$query")
  while IFS= read -r line; do echo "    $line"; done <<<"$out"
  R[$id.rps]=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.1f", $2}')
  R[$id.p50]=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  R[$id.p99]=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  R[$id.total]=$(echo "$out" | awk '/requests in/ {print $1}')
  R[$id.non2xx]=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')
  R[$id.non2xx]=${R[$id.non2xx]:-0}
  R[$id.stale]=$(echo "$out" | awk '$1 == "stale" {print $2}')
  R[$id.ok]=$(echo "$out" | awk '$1 == "ok200" {print $2}')
  R[$id.calls]=$(( $(sim_counter leads) - before ))
  R[$id.name]=$name
}

for f in $fresh_values; do
  run "$f" cold
  [ "$f" = 0 ] || run "$f" warm
done

# ---------------------------------------------------------------- added latency, one at a time
# amo-connect's /leads without the store (every request is one amoCRM call: JWT, the
# connection row, the pacing lease, libcurl to the simulator, parsing, the answer) against
# the simulator's /api/v4/leads answered directly, through the same nginx. Neither the
# pacing nor the simulator's rate limit waits here: AMO_RATE_LIMIT_RPS=1000 (one call per
# account every 12 ms, pacing_step_ms) and wrk pauses 20 ms between requests (delay()),
# the simulator's rate_limit 0. Interleaved rounds of wrk -c1; medians.
max_rps=$(sim_counter max_rps_seen)  # of the runs above, before the direct calls below
seq_rounds=${BENCH_LEADS_SEQ_ROUNDS:-3}
seq_duration=${BENCH_LEADS_SEQ_DURATION:-4s}
stop_server
psql "$DATABASE_URL" -q -c "DELETE FROM amo_response_store; DELETE FROM amo_rate_limit" >/dev/null
start_server AMO_RATE_LIMIT_RPS=1000 LEADS_FRESH_S=0
curl -sf -X POST -H 'Content-Type: application/json' -d '{"rate_limit":0}' "$sim/_sim/knobs" >/dev/null
grant=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{}' "$sim/_sim/issue-code")
code=$(echo "$grant" | grep -o '"code":"[^"]*"' | cut -d'"' -f4)
sim_access=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"client_id\":\"$AMO_CLIENT_ID\",\"client_secret\":\"$AMO_CLIENT_SECRET\",\"grant_type\":\"authorization_code\",\"code\":\"$code\",\"redirect_uri\":\"$AMO_REDIRECT_URI\"}" \
  "$sim/oauth2/access_token" | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)
[ -n "$sim_access" ] || die "no access token from the simulator"
agent=$(head -n 1 "$tmp/tokens")
echo 'function delay() return 20 end' >"$tmp/seq.lua"
declare -A Q
for r in $(seq "$seq_rounds"); do
  for target in direct amo-connect; do
    if [ "$target" = direct ]; then
      out=$(wrk -t1 -c1 -d"$seq_duration" --latency -s "$tmp/seq.lua" -H "Authorization: Bearer $sim_access" "$sim/api/v4/leads?$query")
    else
      before=$(sim_counter leads)
      out=$(wrk -t1 -c1 -d"$seq_duration" --latency -s "$tmp/seq.lua" -H "Authorization: Bearer $agent" "$base/api/amo-crm/leads?$query")
    fi
    read -r rps p50 p99 non2xx _ total <<<"$(wrk_figures "$out")"
    [ "$target" = direct ] || Q[calls]="${Q[calls]:-} $(awk -v c="$(( $(sim_counter leads) - before ))" -v n="$total" 'BEGIN {printf "%.2f", n ? c / n : 0}')"
    echo "bench-leads: sequential round $r $target: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-2xx $non2xx"
    Q[$target.p50]="${Q[$target.p50]:-} $p50"
    Q[$target.p99]="${Q[$target.p99]:-} $p99"
    Q[$target.non2xx]=$(( ${Q[$target.non2xx]:-0} + non2xx ))
  done
done

# The same one-at-a-time /leads with strace -c -f on the server: system calls per request.
seq_sys="(strace not found)"
if command -v strace >/dev/null 2>&1; then
  strace -c -f -o "$tmp/strace-leads.txt" -p "$amo_pid" 2>/dev/null &
  strace_pid=$!
  sleep 1
  out=$(wrk -t1 -c1 -d"$seq_duration" -s "$tmp/seq.lua" -H "Authorization: Bearer $agent" "$base/api/amo-crm/leads?$query")
  kill -INT "$strace_pid" 2>/dev/null || true
  wait "$strace_pid" 2>/dev/null || true
  kill -CONT "$amo_pid" 2>/dev/null || true
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  seq_sys=$(awk -v n="${total:-0}" 'NR > 2 && $1 ~ /^[0-9.]+$/ && n > 0 {
      if ($NF == "total") t = $4 / n; else s = s sprintf("%s %.1f, ", $NF, $4 / n) }
      END { printf "%.1f per request (%s)", t, s }' "$tmp/strace-leads.txt")
fi

echo
echo "GET /api/amo-crm/leads?$query — $users users of one account, wrk -t$wrk_threads -c$users -d$duration, $(nproc) CPUs"
echo "amo-connect: WORKER_THREADS=$WORKER_THREADS DB_POOL_SIZE=$DB_POOL_SIZE, AMO_RATE_LIMIT_RPS=7 (the simulator allows 7/s)"
echo "cold: the store starts empty; warm: after one request per agent (warm-up s: how long it took)"
echo "200: answers with the leads (stale ones included); non-2xx: mostly 429 rate_limited (no pacing slot in time)"
printf '%-24s %9s %9s %9s %9s %9s %9s %7s %12s %9s\n' run "req/s" "p50 ms" "p99 ms" requests 200 non-2xx stale "amoCRM calls" "warm-up s"
for id in "${runs[@]}"; do
  printf '%-24s %9s %9s %9s %9s %9s %9s %7s %12s %9s\n' "${R[$id.name]}" "${R[$id.rps]}" "${R[$id.p50]}" \
    "${R[$id.p99]}" "${R[$id.total]}" "${R[$id.ok]}" "${R[$id.non2xx]}" "${R[$id.stale]}" "${R[$id.calls]}" "${R[$id.warm]}"
done
echo "most amoCRM API requests in any second (all runs, the simulator's count): $max_rps"
echo
echo "One request at a time (wrk -c1, 20 ms apart, medians of $seq_rounds interleaved rounds of $seq_duration), no store, no pacing wait:"
printf '%-36s %9s %9s %9s\n' "" "p50 ms" "p99 ms" non-2xx
printf '%-36s %9s %9s %9s\n' "simulator directly (same nginx)" "$(median ${Q[direct.p50]})" "$(median ${Q[direct.p99]})" "${Q[direct.non2xx]}"
printf '%-36s %9s %9s %9s\n' "amo-connect /leads" "$(median ${Q[amo-connect.p50]})" "$(median ${Q[amo-connect.p99]})" "${Q[amo-connect.non2xx]}"
echo "amo-connect system calls (strace -c -f, one at a time): $seq_sys"
echo "added latency at p50: $(awk -v a="$(median ${Q[amo-connect.p50]})" -v b="$(median ${Q[direct.p50]})" 'BEGIN {printf "%.2f", a - b}') ms (target <= 1 ms); amoCRM calls per request: $(median ${Q[calls]})"
