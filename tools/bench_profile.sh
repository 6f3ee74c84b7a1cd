#!/usr/bin/env bash
# `make bench-profile`: what one GET /api/amo-crm/status costs inside the server, in figures
# that do not depend on the machine's load: instructions per request (valgrind callgrind,
# and its top functions), system calls per request (strace -c -f) and context switches per
# request (/proc/PID/task/*/status deltas), for amo-connect behind nginx and, beside it, the
# floor (a trivial libfcgi responder, tools/bench_floor.c, behind the same nginx config).
#
#   bash tools/bench_profile.sh [BUILD_DIR]  (BUILD_DIR holds the release amo-connect)
#
# Settings (environment):
#   PROFILE_REQUESTS   requests per measurement (callgrind: a tenth of them) (20000)
#   PROFILE_CONNECTIONS   wrk -c (8)
#   WORKER_THREADS, DB_POOL_SIZE, LOG_LEVEL   as for serve (service defaults, info)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
requests=${PROFILE_REQUESTS:-20000}
conns=${PROFILE_CONNECTIONS:-8}

die() { echo "bench-profile: $*" >&2; exit 1; }
for t in wrk nginx psql curl cc strace valgrind callgrind_annotate callgrind_control; do
  command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps installs it)"
done
[ -x "$build/amo-connect" ] || die "$build/amo-connect not found (make build)"

tmp=$(mktemp -d /tmp/amo-profile.XXXXXX)
chmod 755 "$tmp"
pgdir="$tmp/pg"
pids=()
pg_started=0
source "$root/tools/bench_common.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

pg_started=1
DATABASE_URL=$(bash "$root/tools/devstack.sh" pg-start "$pgdir") || die "PostgreSQL did not start"
export DATABASE_URL JWT_SECRET TOKEN_ENCRYPTION_KEY
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export AMO_CLIENT_SECRET=profile-secret AMO_CLIENT_ID=00000000-0000-4000-8000-000000000003
export AMO_REDIRECT_URI="http://127.0.0.1:1/api/v1/integrations/amo-crm/callback"
export AMO_DOMAIN=reforyou.amocrm.ru TEMPLATES_DIR="$root/templates" SQL_DIR="$root/sql"
export LOG_LEVEL=${LOG_LEVEL:-info}
[ -z "${WORKER_THREADS:-}" ] || export WORKER_THREADS
[ -z "${DB_POOL_SIZE:-}" ] || export DB_POOL_SIZE
settings=$("$build/amo-connect" check-config 2>/dev/null | grep -E '^(WORKER_THREADS|DB_POOL_SIZE)=' | tr '\n' ' ')
threads=$(echo "$settings" | grep -o 'WORKER_THREADS=[0-9]*' | cut -d= -f2)
"$build/amo-connect" migrate >/dev/null || die "migrate failed"
load_users 10000 "$DATABASE_URL"
token=$("$build/amo-connect" dev-token 42)
cc -O2 -o "$tmp/bench-floor" "$root/tools/bench_floor.c" -lfcgi -lpthread || die "cannot build the floor"

# start NAME COMMAND...: the server on $tmp/NAME.sock behind its own nginx; sets srv_pid, url.
start() {
  local name=$1 sock="$tmp/$1.sock" p
  shift
  rm -f "$sock"
  FCGI_SOCKET=$sock "$@" 2>"$tmp/$name.log" &
  srv_pid=$!
  pids+=("$srv_pid")
  for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { cat "$tmp/$name.log" >&2; die "$name did not open $sock"; }
  p=$(free_port)
  bash "$root/tools/devstack.sh" nginx-conf "$tmp/nginx-$name" "$p" "$sock" >/dev/null
  nginx -p "$tmp/nginx-$name" -c "$tmp/nginx-$name/nginx.conf" -e "$tmp/nginx-$name/error.log" -g "daemon off;" &
  pids+=($!)
  url="http://127.0.0.1:$p/api/amo-crm/status"
  wait_http "$url" "nginx ($name)" "$!"
}
stop_last_two() {  # nginx, then the server (SIGCONT: strace's detach may leave it stopped)
  local i p
  for i in 1 2; do
    p=${pids[-1]}
    kill -TERM "$p" 2>/dev/null || true
    kill -CONT "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset 'pids[-1]'
  done
}
# load N: about N requests at -c$conns (wrk -d1s steps until N are done); prints the count.
load() {
  local want=$1 done_=0 got empty=0
  while [ "$done_" -lt "$want" ]; do
    got=$(wrk -t1 -c"$conns" -d1s -H "Authorization: Bearer $token" "$url" | awk '/requests in/ {print $1}')
    if [ "${got:-0}" -eq 0 ]; then
      empty=$((empty + 1))
      [ "$empty" -lt 20 ] || { echo "bench-profile: no answers from $url" >&2; return 1; }
    fi
    done_=$((done_ + ${got:-0}))
  done
  echo "$done_"
}
ctx_sum() {  # PID → voluntary nonvoluntary, summed over its threads
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}'
}

declare -A P
profile() {  # NAME COMMAND...
  local name=$1 n v0 n0 v1 n1 spid calls ir
  # Context switches and system calls, at full speed.
  start "$@"
  load 2000 >/dev/null
  read -r v0 n0 <<<"$(ctx_sum "$srv_pid")"
  n=$(load "$requests")
  read -r v1 n1 <<<"$(ctx_sum "$srv_pid")"
  P[$name.ctx]=$(awk -v a=$((v1 - v0)) -v b=$((n1 - n0)) -v n="$n" 'BEGIN {printf "%.2f voluntary + %.2f involuntary", a / n, b / n}')
  strace -c -f -o "$tmp/strace-$name.txt" -p "$srv_pid" 2>/dev/null &
  spid=$!
  sleep 1
  n=$(load "$requests")
  kill -INT "$spid"
  wait "$spid" 2>/dev/null || true
  calls=$(awk '$NF == "total" {print $4}' "$tmp/strace-$name.txt")
  P[$name.sys]=$(awk -v c="$calls" -v n="$n" 'BEGIN {printf "%.2f", c / n}')
  P[$name.systop]=$(awk -v n="$n" 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
      printf "%s %.2f, ", $NF, $4 / n }' "$tmp/strace-$name.txt" | head -c 400)
  stop_last_two
  # Instructions, under callgrind (instrumented from after a warm-up to one dump; dumps
  # after the first one put every cost under clone in callgrind_annotate).
  start "$name-cg" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/cg-$name.out" "${@:2}"
  load 200 >/dev/null
  callgrind_control -i on "$srv_pid" >/dev/null 2>&1
  n=$(load $((requests / 10)))
  callgrind_control -d "$srv_pid" >/dev/null 2>&1
  for _ in $(seq 50); do [ -s "$tmp/cg-$name.out.1" ] && break; sleep 0.2; done
  ir=$(awk '/^summary:/ {print $2}' "$tmp/cg-$name.out.1")
  P[$name.ir]=$(awk -v i="$ir" -v n="$n" 'BEGIN {printf "%.0f", i / n}')
  callgrind_annotate --inclusive=no "$tmp/cg-$name.out.1" 2>/dev/null |
    awk -v n="$n" '/^ *[0-9,]+ +\([ 0-9.]+%\) / && !/PROGRAM TOTALS/ {
      c = $1; gsub(",", "", c); sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "");
      sub(/^.*\/[^\/:]*:/, ""); printf "  %8.0f  %s\n", c / n, substr($0, 1, 110) }' |
    head -20 >"$tmp/top-$name.txt" || true
  stop_last_two
}

echo "bench-profile: ${settings}LOG_LEVEL=$LOG_LEVEL, wrk -c$conns, $requests requests per measurement"
profile amo-connect "$build/amo-connect" serve
profile floor "$tmp/bench-floor" "$threads"

echo
for name in amo-connect floor; do
  echo "$name:"
  echo "  instructions per request (callgrind, server process): ${P[$name.ir]}"
  echo "  system calls per request (strace -c -f): ${P[$name.sys]}"
  echo "    by call: ${P[$name.systop]}"
  echo "  context switches per request (server threads): ${P[$name.ctx]}"
  echo "  top functions (self instructions per request, callgrind):"
  cat "$tmp/top-$name.txt"
done
