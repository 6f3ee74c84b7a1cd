#!/usr/bin/env bash
# `make bench`: GET /api/amo-crm/status under wrk, in interleaved rounds (medians), for
#   amo-connect      the release server behind nginx (shipped locations), 10,000 users
#   amo-connect-1M   a second server on a database of 1,000,000 users, same nginx
#   floor            the same nginx in front of a trivial libfcgi responder (tools/bench_floor.c,
#                    same threads, no database): what nginx + libfcgi cost by themselves
#   fastify+nginx    the Fastify reference peer behind the same nginx (proxy_pass, upstream
#                    keepalive, same worker count)
#   fastify          the Fastify peer serving HTTP itself
# at WRK_CONNECTIONS (64) and BENCH_HIGH_CONNECTIONS (512) connections; then amo-connect's
# RSS, and `refresh-due` over BENCH_REFRESH_ROWS due connections (tokens sealed by the
# server's own code, tools/bench_rows.cpp; refresh tokens the amoCRM simulator knows)
# with status p99 while it runs. The reference peers are the only thing taken from outside
# the repository (../shared/peers, or AMO_PEERS_DIR). Everything runs in a throwaway
# directory under /tmp that is removed on exit.
#
#   bash tools/bench.sh [BUILD_DIR]          (BUILD_DIR holds the release amo-connect)
#
# Settings (environment):
#   BENCH_DURATION   wrk duration of each measured run (5s); each target gets a 2 s warm-up
#   BENCH_ROUNDS     interleaved rounds (3); the table shows medians
#   WRK_THREADS, WRK_CONNECTIONS, BENCH_HIGH_CONNECTIONS   wrk -t / -c (2 / 64 / 512)
#   WORKER_THREADS, DB_POOL_SIZE             amo-connect concurrency (the service defaults
#                                            when unset); the floor uses WORKER_THREADS too
#   LOG_LEVEL        amo-connect log level (info, as in production)
#   NGINX_WORKERS    nginx worker_processes for every site (2)
#   NODE_WORKERS     Fastify peer processes (default: one per core)
#   BENCH_PEERS=0    no Fastify runs (quick experiments)
#   BENCH_ROWS       users in the main database (10000, as the peers' setup.sql)
#   BENCH_BIG_ROWS   users in the second database (1000000; 0 skips it)
#   BENCH_REFRESH_ROWS   due connections for refresh-due (100000; 0 skips it)
#   BENCH_REFRESH_CONCURRENCY   refresh-due --concurrency (8)
# Exit status: non-zero only when something failed to start, never because of the numbers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
# The peers sit in shared/peers beside the repository (or beside its worktrees' directory).
peers=${AMO_PEERS_DIR:-}
if [ -z "$peers" ]; then
  for d in "$root/../shared/peers" "$root/../../shared/peers"; do
    [ -f "$d/setup.sql" ] && { peers=$(cd "$d" && pwd); break; }
  done
fi
peers=${peers:-$root/../shared/peers}
duration=${BENCH_DURATION:-5s}
rounds=${BENCH_ROUNDS:-3}
wrk_threads=${WRK_THREADS:-2}
conns_low=${WRK_CONNECTIONS:-64}
conns_high=${BENCH_HIGH_CONNECTIONS:-512}
rows=${BENCH_ROWS:-10000}
big_rows=${BENCH_BIG_ROWS:-1000000}
refresh_rows=${BENCH_REFRESH_ROWS:-100000}
refresh_conc=${BENCH_REFRESH_CONCURRENCY:-8}
nginx_workers=${NGINX_WORKERS:-2}
use_peers=${BENCH_PEERS:-1}
bench_user=42

die() { echo "bench: $*" >&2; exit 1; }
for t in wrk nginx psql curl cc; do
  command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps installs it)"
done
if [ "$use_peers" = 1 ]; then
  for t in node npm; do command -v "$t" >/dev/null 2>&1 || die "$t not found"; done
  [ -f "$peers/setup.sql" ] || die "peers not found in $peers (set AMO_PEERS_DIR, or BENCH_PEERS=0)"
fi
for b in amo-connect amo-bench-rows tools/amo-sim/amo-sim; do
  [ -x "$build/$b" ] || die "$build/$b not found (make build)"
done

tmp=$(mktemp -d /tmp/amo-bench.XXXXXX)
chmod 755 "$tmp"  # PostgreSQL runs as an unprivileged user when we are root
pgdir="$tmp/pg"
pids=()      # processes we started, stopped in reverse order
pg_started=0

# bench_cleanup, free_port, wait_http, to_ms, peak_rss_kib, median, ratio, wrk_figures, load_users
source "$root/tools/bench_common.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

wait_socket() {  # PATH PID NAME LOG
  for _ in $(seq 100); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || { cat "$4" >&2 || true; die "$3 exited"; }
    sleep 0.1
  done
  die "$3 did not open $1"
}

# ---------------------------------------------------------------- PostgreSQL
echo "bench: PostgreSQL in $pgdir"
pg_started=1  # before the start: a half-started cluster is stopped too
DATABASE_URL=$(bash "$root/tools/devstack.sh" pg-start "$pgdir") || die "PostgreSQL did not start"
big_url=${DATABASE_URL/\/postgres\?/\/bench1m?}

export JWT_SECRET TOKEN_ENCRYPTION_KEY AMO_CLIENT_SECRET
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 -w0)
AMO_CLIENT_SECRET=bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(free_port)        # nginx: amo-connect (10k)
port_big=$(free_port)    # nginx: amo-connect (1M)
port_floor=$(free_port)  # nginx: the floor
port_fnx=$(free_port)    # nginx: Fastify
sim_port=$(free_port)    # nginx: the amoCRM simulator
sim="http://127.0.0.1:$sim_port"
export AMO_CLIENT_ID=00000000-0000-4000-8000-000000000001
export AMO_REDIRECT_URI="http://127.0.0.1:$port/api/v1/integrations/amo-crm/callback"
export AMO_DOMAIN=reforyou.amocrm.ru
export AMO_BASE_URL="$sim" AMO_AUTH_URL="$sim/oauth"
export TEMPLATES_DIR="$root/templates"
export SQL_DIR="$root/sql"
export LOG_LEVEL=${LOG_LEVEL:-info}
export DATABASE_URL
[ -z "${WORKER_THREADS:-}" ] || export WORKER_THREADS
[ -z "${DB_POOL_SIZE:-}" ] || export DB_POOL_SIZE
settings=$("$build/amo-connect" check-config 2>/dev/null | grep -E '^(WORKER_THREADS|DB_POOL_SIZE)=' | tr '\n' ' ')
floor_threads=$(echo "$settings" | grep -o 'WORKER_THREADS=[0-9]*' | cut -d= -f2)

"$build/amo-connect" migrate >/dev/null || die "migrate failed"
load_users "$rows" "$DATABASE_URL"
if [ "$big_rows" -gt 0 ]; then
  psql "$DATABASE_URL" -q -c "CREATE DATABASE bench1m" >/dev/null
  DATABASE_URL=$big_url "$build/amo-connect" migrate >/dev/null || die "migrate (1M) failed"
  started=$(date +%s)
  load_users "$big_rows" "$big_url"
  echo "bench: $big_rows users inserted in $(( $(date +%s) - started )) s"
fi
token=$("$build/amo-connect" dev-token "$bench_user") || die "dev-token failed"

# ---------------------------------------------------------------- servers
sim_sock="$tmp/sim.sock"
SIM_FCGI_SOCKET="$sim_sock" SIM_CLIENT_ID="$AMO_CLIENT_ID" SIM_CLIENT_SECRET="$AMO_CLIENT_SECRET" \
  SIM_REDIRECT_URI="$AMO_REDIRECT_URI" SIM_ACCOUNT_HOST="$AMO_DOMAIN" SIM_RATE_LIMIT=0 \
  "$build/tools/amo-sim/amo-sim" 2>"$tmp/sim.log" &
pids+=($!)
wait_socket "$sim_sock" "$!" "the simulator" "$tmp/sim.log"

sock="$tmp/amo-connect.sock"
FCGI_SOCKET=$sock "$build/amo-connect" serve 2>"$tmp/amo-connect.log" &
amo_pid=$!
pids+=("$amo_pid")
wait_socket "$sock" "$amo_pid" amo-connect "$tmp/amo-connect.log"
big_sock="$tmp/amo-connect-1m.sock"
big_pid=
if [ "$big_rows" -gt 0 ]; then
  DATABASE_URL=$big_url FCGI_SOCKET=$big_sock "$build/amo-connect" serve 2>"$tmp/amo-connect-1m.log" &
  big_pid=$!
  pids+=("$big_pid")
  wait_socket "$big_sock" "$big_pid" "amo-connect (1M)" "$tmp/amo-connect-1m.log"
fi
floor_sock="$tmp/floor.sock"
cc -O2 -o "$tmp/bench-floor" "$root/tools/bench_floor.c" -lfcgi -lpthread || die "cannot build the floor"
FCGI_SOCKET=$floor_sock "$tmp/bench-floor" "$floor_threads" 2>"$tmp/floor.log" &
pids+=($!)
wait_socket "$floor_sock" "$!" "the floor" "$tmp/floor.log"

fastify_port=
if [ "$use_peers" = 1 ]; then
  psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$peers/setup.sql" >/dev/null 2>&1 ||
    die "peers' setup.sql failed"
  [ "$rows" = 10000 ] || psql "$DATABASE_URL" -q -c "DELETE FROM peer_connection WHERE user_id::int > $rows" >/dev/null
  cp -r "$peers/fastify" "$tmp/fastify"
  chmod -R u+w "$tmp/fastify"
  echo "bench: fastify: npm install"
  (cd "$tmp/fastify" && npm install --no-audit --no-fund --loglevel=error >"$tmp/npm.log" 2>&1) ||
    { cat "$tmp/npm.log" >&2; die "fastify: npm install failed"; }
  fastify_port=$(free_port)
  # PostgreSQL over the unix socket of the throwaway cluster.
  PGHOST="$pgdir" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres PORT=$fastify_port \
    node "$tmp/fastify/server.js" >"$tmp/fastify.log" 2>&1 &
  fastify_pid=$!
  pids+=("$fastify_pid")
  wait_http "http://127.0.0.1:$fastify_port/" fastify "$fastify_pid"
fi

# One nginx for every site: the shipped http-level include and location blocks for
# amo-connect (and copies of them pointing at the 1M server and at the floor), Fastify
# behind proxy_pass with upstream keepalive, the simulator.
ngx="$tmp/nginx"
bash "$root/tools/devstack.sh" nginx-conf "$ngx" "$port" "$sock" "$sim_port" "$sim_sock" >/dev/null
sed 's/fastcgi_pass amo_connect;/fastcgi_pass amo_connect_1m;/' "$root/nginx/amo-connect.locations.conf" >"$ngx/locations-1m.conf"
sed 's/fastcgi_pass amo_connect;/fastcgi_pass amo_floor;/' "$root/nginx/amo-connect.locations.conf" >"$ngx/locations-floor.conf"
{
  # devstack's config (amo-connect on $port, the simulator) without its closing brace, the
  # worker count set, then the other sites.
  sed -e '$d' -e "s/^worker_processes .*/worker_processes $nginx_workers;/" \
    -e 's/worker_connections [0-9]*/worker_connections 4096/' "$ngx/nginx.conf"
  cat <<CONF
  upstream amo_connect_1m { server unix:$big_sock; }
  upstream amo_floor { server unix:$floor_sock; }
  server { listen 127.0.0.1:$port_big; server_name localhost; include $ngx/locations-1m.conf; }
  server { listen 127.0.0.1:$port_floor; server_name localhost; include $ngx/locations-floor.conf; }
CONF
  if [ -n "$fastify_port" ]; then
    cat <<CONF
  upstream fastify_peer { server 127.0.0.1:$fastify_port; keepalive 64; }
  server {
    listen 127.0.0.1:$port_fnx;
    location / {
      proxy_pass http://fastify_peer;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
CONF
  fi
  echo "}"
} >"$ngx/bench.conf"
nginx -p "$ngx" -c "$ngx/bench.conf" -e "$ngx/error.log" -g "daemon off;" &
pids+=($!)
wait_http "http://127.0.0.1:$port/healthz" nginx "$!"

# ---------------------------------------------------------------- status rounds
path=/api/amo-crm/status
declare -A URL
URL[amo-connect]="http://127.0.0.1:$port$path"
URL[floor]="http://127.0.0.1:$port_floor$path"
targets=(amo-connect floor)
if [ "$big_rows" -gt 0 ]; then URL[amo-connect-1M]="http://127.0.0.1:$port_big$path"; targets+=(amo-connect-1M); fi
if [ -n "$fastify_port" ]; then
  URL[fastify+nginx]="http://127.0.0.1:$port_fnx$path"
  URL[fastify]="http://127.0.0.1:$fastify_port$path"
  targets+=(fastify+nginx fastify)
fi
for t in "${targets[@]}"; do
  [ "$t" = floor ] && continue
  code=$(curl -s -o "$tmp/check.json" -w '%{http_code}' -H "Authorization: Bearer $token" "${URL[$t]}")
  [ "$code" = 200 ] || { cat "$tmp/check.json" >&2 || true; die "$t: GET ${URL[$t]} answered $code"; }
  grep -q '"connected":true' "$tmp/check.json" || die "$t: the user is not reported as connected"
done
for t in "${targets[@]}"; do
  wrk -t"$wrk_threads" -c"$conns_low" -d2s -H "Authorization: Bearer $token" "${URL[$t]}" >/dev/null
done

declare -A S  # S[target.conns.field] = space-separated figures of the rounds
echo "bench: ${settings}LOG_LEVEL=$LOG_LEVEL, nginx workers $nginx_workers, $rows users$([ "$big_rows" -gt 0 ] && echo " (and $big_rows)"), $(nproc) CPUs"
echo "bench: $rounds interleaved rounds of wrk -t$wrk_threads -d$duration --latency at -c$conns_low and -c$conns_high"
for r in $(seq "$rounds"); do
  for c in "$conns_low" "$conns_high"; do
    for t in "${targets[@]}"; do
      [ "$c" = "$conns_high" ] && [ "$t" = amo-connect-1M ] && continue
      out=$(wrk -t"$wrk_threads" -c"$c" -d"$duration" --latency -H "Authorization: Bearer $token" "${URL[$t]}")
      read -r rps p50 p99 non2xx errors total <<<"$(wrk_figures "$out")"
      printf 'bench: round %s -c%-4s %-15s %7s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s  socket errors %s\n' \
        "$r" "$c" "$t" "$rps" "$p50" "$p99" "$non2xx" "$errors"
      for f in rps p50 p99; do S[$t.$c.$f]="${S[$t.$c.$f]:-} ${!f}"; done
      S[$t.$c.non2xx]=$(( ${S[$t.$c.non2xx]:-0} + non2xx ))
      S[$t.$c.errors]=$(( ${S[$t.$c.errors]:-0} + errors ))
    done
  done
done
rss_kib=$(peak_rss_kib "$amo_pid")
rss_now=$(awk '/^VmRSS:/ {print $2}' "/proc/$amo_pid/status")
med() { median ${S[$1]:-}; }

# ---------------------------------------------------------------- refresh-due
refresh_line="(skipped: BENCH_REFRESH_ROWS=0)"
if [ "$refresh_rows" -gt 0 ]; then
  account=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{}' "$sim/_sim/issue-code" |
    grep -o '"account_id":[0-9]*' | cut -d: -f2)
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"prefix\":\"bench-rt-\",\"count\":$refresh_rows}" "$sim/_sim/seed-refresh" >/dev/null ||
    die "the simulator did not take the refresh tokens"
  started=$(date +%s)
  "$build/amo-bench-rows" due- "$refresh_rows" bench-rt- "$account" "$AMO_DOMAIN" |
    psql "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -c "\\copy amo_connection (user_id, account_id, domain,
      account_name, access_token_enc, refresh_token_enc, key_id, expires_at, last_refresh_at) FROM STDIN" ||
    die "could not load the due connections"
  psql "$DATABASE_URL" -q -c "ANALYZE amo_connection" >/dev/null
  echo "bench: $refresh_rows due connections sealed and loaded in $(( $(date +%s) - started )) s"
  # Status under load meanwhile: wrk until refresh-due ends (SIGINT makes wrk print its figures).
  wrk -t"$wrk_threads" -c"$conns_low" -d3600s --latency -H "Authorization: Bearer $token" \
    "${URL[amo-connect]}" >"$tmp/wrk-refresh.txt" &
  wrk_pid=$!
  pids+=("$wrk_pid")
  sleep 1
  t0=$(date +%s.%N)
  "$build/amo-connect" refresh-due --concurrency "$refresh_conc" >"$tmp/refresh.out" 2>"$tmp/refresh.log" || true
  t1=$(date +%s.%N)
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  summary=$(grep '^refresh-due:' "$tmp/refresh.out" || echo "refresh-due: no summary (see log)")
  echo "bench: $summary"
  refreshed=$(echo "$summary" | grep -o '[0-9]* refreshed' | cut -d' ' -f1)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  rate=$(awk -v n="${refreshed:-0}" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
  read -r rrps rp50 rp99 rnon2xx rerr _ <<<"$(wrk_figures "$(cat "$tmp/wrk-refresh.txt")")"
  refresh_line="$refresh_rows due, ${refreshed:-0} refreshed in $secs s = $rate connections/s (--concurrency $refresh_conc); status meanwhile -c$conns_low: $rrps req/s, p50 $rp50 ms, p99 $rp99 ms, non-2xx $rnon2xx, socket errors $rerr"
fi

# ---------------------------------------------------------------- summary
echo
echo "GET $path — medians of $rounds interleaved rounds, wrk -t$wrk_threads -d$duration, $(nproc) CPUs, nginx workers $nginx_workers"
echo "amo-connect: ${settings}LOG_LEVEL=$LOG_LEVEL; floor: $floor_threads libfcgi threads; the peers are outside the repository"
printf '%-16s %6s %9s %9s %9s %8s %8s\n' target conns "req/s" "p50 ms" "p99 ms" non-2xx errors
for c in "$conns_low" "$conns_high"; do
  for t in "${targets[@]}"; do
    [ -n "${S[$t.$c.rps]:-}" ] || continue
    printf '%-16s %6s %9s %9s %9s %8s %8s\n' "$t" "$c" "$(med "$t.$c.rps")" "$(med "$t.$c.p50")" \
      "$(med "$t.$c.p99")" "${S[$t.$c.non2xx]}" "${S[$t.$c.errors]}"
  done
done
a=$(med "amo-connect.$conns_low.rps")
echo
echo "amo-connect / floor (same nginx, trivial libfcgi):  x$(ratio "$a" "$(med "floor.$conns_low.rps")") at -c$conns_low, x$(ratio "$(med "amo-connect.$conns_high.rps")" "$(med "floor.$conns_high.rps")") at -c$conns_high"
if [ -n "$fastify_port" ]; then
  echo "amo-connect / fastify+nginx:  x$(ratio "$a" "$(med "fastify+nginx.$conns_low.rps")") at -c$conns_low (target >= 2.0), x$(ratio "$(med "amo-connect.$conns_high.rps")" "$(med "fastify+nginx.$conns_high.rps")") at -c$conns_high"
  echo "amo-connect / fastify (bare): x$(ratio "$a" "$(med "fastify.$conns_low.rps")") at -c$conns_low (target >= 1.0), x$(ratio "$(med "amo-connect.$conns_high.rps")" "$(med "fastify.$conns_high.rps")") at -c$conns_high"
fi
echo "amo-connect p99 at -c$conns_low: $(med "amo-connect.$conns_low.p99") ms (target <= 10), at -c$conns_high: $(med "amo-connect.$conns_high.p99") ms; non-2xx: $(( ${S[amo-connect.$conns_low.non2xx]} + ${S[amo-connect.$conns_high.non2xx]} ))"
if [ "$big_rows" -gt 0 ]; then
  echo "amo-connect 1M users / $rows users: x$(ratio "$(med "amo-connect-1M.$conns_low.rps")" "$a") req/s (target >= 0.90)"
fi
echo "amo-connect RSS: peak $(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k / 1024}') MiB, now $(awk -v k="$rss_now" 'BEGIN {printf "%.1f", k / 1024}') MiB (target <= 64)"
echo "refresh-due: $refresh_line"
echo "status p99 without refresh-due (above): $(med "amo-connect.$conns_low.p99") ms"
