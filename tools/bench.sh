#!/usr/bin/env bash
# `make bench`: wrk against GET /api/amo-crm/status through nginx, then the same against the
# Fastify reference peer (../shared/peers/fastify) on the same PostgreSQL, and a table of
# ratios. Everything runs in a throwaway directory under /tmp that is removed on exit.
#
#   bash tools/bench.sh [BUILD_DIR]          (BUILD_DIR holds the release amo-connect)
#
# Settings (environment):
#   BENCH_DURATION   wrk duration of the measured run (10s); the warm-up is 3 s
#   WRK_THREADS, WRK_CONNECTIONS             wrk -t / -c (2 / 64)
#   WORKER_THREADS, DB_POOL_SIZE             amo-connect concurrency (16 / 8, the service defaults)
#   LOG_LEVEL        amo-connect log level (info, as in production)
#   NODE_WORKERS     Fastify peer processes (default: one per core)
#   BENCH_EXPRESS=1  also measure the Express peer (the old backend's stack)
#   BENCH_PEERS=0    measure amo-connect only (quick experiments)
#   BENCH_ROWS       rows in each table (10000, as the peers' setup.sql)
# Exit status: non-zero only when something failed to start, never because of the numbers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
peers=${AMO_PEERS_DIR:-$(cd "$root/.." && pwd)/shared/peers}
duration=${BENCH_DURATION:-10s}
wrk_threads=${WRK_THREADS:-2}
wrk_conns=${WRK_CONNECTIONS:-64}
rows=${BENCH_ROWS:-10000}
bench_user=42

die() { echo "bench: $*" >&2; exit 1; }
# bench_init, bench_cleanup, free_port, wait_http, to_ms, stack_start
source "$root/tools/bench_common.sh"
[ -x "$build/amo-connect" ] || die "$build/amo-connect not found (make build)"
[ -f "$peers/setup.sql" ] || die "peers not found in $peers (set AMO_PEERS_DIR)"
bench_init bench wrk nginx psql curl node npm

# Peak resident memory (VmHWM, KiB) of a process and its children.
peak_rss_kib() {
  local total=0 p v
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

declare -A R  # results: R[name.rps], R[name.p50], R[name.p99], R[name.non2xx], R[name.errors], R[name.rss]

# run_wrk NAME URL TOKEN PID: warm-up, measured run, figures into R[NAME.*].
run_wrk() {
  local name=$1 url=$2 token=$3 pid=$4 out code line
  code=$(curl -s -o "$tmp/check.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
  [ "$code" = 200 ] || { cat "$tmp/check.json" >&2 || true; echo >&2; die "$name: GET $url answered $code, not 200"; }
  grep -q '"connected":true' "$tmp/check.json" || die "$name: $url does not report the user as connected"
  echo "bench: $name: warm-up 3s"
  wrk -t"$wrk_threads" -c"$wrk_conns" -d3s -H "Authorization: Bearer $token" "$url" >/dev/null
  echo "bench: $name: wrk -t$wrk_threads -c$wrk_conns -d$duration --latency $url"
  out=$(wrk -t"$wrk_threads" -c"$wrk_conns" -d"$duration" --latency -H "Authorization: Bearer $token" "$url")
  while IFS= read -r line; do echo "    $line"; done <<<"$out"
  R[$name.rps]=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
  R[$name.p50]=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  R[$name.p99]=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  R[$name.non2xx]=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')
  R[$name.non2xx]=${R[$name.non2xx]:-0}
  R[$name.errors]=$(echo "$out" | awk '/Socket errors:/ {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }')
  R[$name.errors]=${R[$name.errors]:-0}
  R[$name.rss]=$(peak_rss_kib "$pid")
  printf 'bench: %s: %s req/s, p50 %s ms, p99 %s ms, non-2xx %s, socket errors %s, peak RSS %s MiB\n' \
    "$name" "${R[$name.rps]}" "${R[$name.p50]}" "${R[$name.p99]}" "${R[$name.non2xx]}" \
    "${R[$name.errors]}" "$(awk -v k="${R[$name.rss]}" 'BEGIN {printf "%.1f", k / 1024}')"
}

# ---------------------------------------------------------------- PostgreSQL + amo-connect
echo "bench: PostgreSQL in $pgdir"
export WORKER_THREADS=${WORKER_THREADS:-16}
export DB_POOL_SIZE=${DB_POOL_SIZE:-8}
export LOG_LEVEL=${LOG_LEVEL:-info}
stack_start  # PostgreSQL, amo-connect and nginx (no simulator: status never calls amoCRM)

# $rows connected users shaped like the peers' rows (~1.7 KB of token bytes each). The
# status endpoint does not decrypt, so the bytes need not be real ciphertext.
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "
  INSERT INTO amo_connection (user_id, account_id, domain, account_name, access_token_enc,
                              refresh_token_enc, key_id, expires_at, last_refresh_at)
  SELECT g::text, 31000000 + g, 'acct' || g || '.amocrm.ru', 'Account ' || g,
         decode(repeat('ab', 800), 'hex'), decode(repeat('cd', 64), 'hex'), 'bench',
         now() + interval '1 day', now()
  FROM generate_series(1, $rows) g;
  ANALYZE amo_connection;" >/dev/null || die "could not insert the benchmark rows"
token=$("$build/amo-connect" dev-token "$bench_user") || die "dev-token failed"

echo "bench: amo-connect WORKER_THREADS=$WORKER_THREADS DB_POOL_SIZE=$DB_POOL_SIZE LOG_LEVEL=$LOG_LEVEL, nginx on :$port, $rows users"
run_wrk amo-connect "http://127.0.0.1:$port/api/amo-crm/status" "$token" "$amo_pid"

# ---------------------------------------------------------------- Node peers
psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$peers/setup.sql" >/dev/null 2>&1 ||
  die "peers' setup.sql failed"
[ "$rows" = 10000 ] || psql "$DATABASE_URL" -q -c "DELETE FROM peer_connection WHERE user_id::int > $rows" >/dev/null

# PostgreSQL over the unix socket of the throwaway cluster.
export PGHOST="$pgdir" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres

run_peer() {  # NAME DIR
  local name=$1 dir="$tmp/$1" pport pid
  cp -r "$peers/$name" "$dir"
  chmod -R u+w "$dir"
  echo "bench: $name: npm install"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >"$tmp/npm-$name.log" 2>&1) ||
    { cat "$tmp/npm-$name.log" >&2; die "$name: npm install failed"; }
  pport=$(free_port)
  PORT=$pport node "$dir/server.js" >"$tmp/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$pport/" "$name" "$pid"
  echo "bench: $name on :$pport (NODE_WORKERS=${NODE_WORKERS:-one per core})"
  run_wrk "$name" "http://127.0.0.1:$pport/api/amo-crm/status" "$token" "$pid"
}

peers_run=()
if [ "${BENCH_PEERS:-1}" = 1 ]; then
  run_peer fastify
  peers_run+=(fastify)
fi
if [ "${BENCH_EXPRESS:-0}" = 1 ]; then
  run_peer express
  peers_run+=(express)
fi

# ---------------------------------------------------------------- summary
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
echo "GET /api/amo-crm/status — wrk -t$wrk_threads -c$wrk_conns -d$duration, $rows users, $(nproc) CPUs"
echo "amo-connect via nginx: WORKER_THREADS=$WORKER_THREADS DB_POOL_SIZE=$DB_POOL_SIZE LOG_LEVEL=$LOG_LEVEL"
printf '%-22s %10s %10s %10s %9s %9s %10s\n' server "req/s" "p50 ms" "p99 ms" non-2xx errors "RSS MiB"
for n in amo-connect "${peers_run[@]}"; do
  printf '%-22s %10s %10s %10s %9s %9s %10s\n' "$n" "${R[$n.rps]}" "${R[$n.p50]}" "${R[$n.p99]}" \
    "${R[$n.non2xx]}" "${R[$n.errors]}" "$(awk -v k="${R[$n.rss]}" 'BEGIN {printf "%.1f", k / 1024}')"
done
for n in "${peers_run[@]}"; do
  echo "amo-connect / $n: req/s x$(ratio "${R[amo-connect.rps]}" "${R[$n.rps]}"), p99 x$(ratio "${R[amo-connect.p99]}" "${R[$n.p99]}") (below 1 is better), RSS x$(ratio "${R[amo-connect.rss]}" "${R[$n.rss]}")"
done
