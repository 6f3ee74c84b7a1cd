# Helpers shared by tools/bench.sh, tools/bench_leads.sh, tools/bench_profile.sh and
# tools/soak.sh (sourced). The caller defines die, root and build, then calls bench_init (or
# sets them itself), which sets tmp, pgdir, pids
# (processes started, stopped in reverse order; empty entries are skipped) and pg_started,
# and installs bench_cleanup on exit.

# bench_init NAME TOOL...: every TOOL on PATH, a fresh /tmp/amo-NAME.XXXXXX, cleanup on exit.
bench_init() {
  local name=$1 t
  shift
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "$t not found (make deps installs it)"
  done
  tmp=$(mktemp -d "/tmp/amo-$name.XXXXXX")
  chmod 755 "$tmp"  # PostgreSQL runs as an unprivileged user when we are root
  pgdir="$tmp/pg"
  pids=()
  pg_started=0
  amo_pid=
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local i p
  local -a kids
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[i]}
    [ -n "$p" ] || continue
    mapfile -t kids < <(pgrep -P "$p" 2>/dev/null || true)  # e.g. node cluster workers
    kill -TERM "$p" "${kids[@]}" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    [ -n "$p" ] || continue
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "$pg_started" = 1 ]; then bash "$root/tools/devstack.sh" pg-stop "$pgdir" || true; fi
  rm -rf "$tmp"
  exit "$rc"
}

# A free TCP port on 127.0.0.1 (nothing answers a connect there).
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

wait_http() {  # URL NAME PID: until URL answers (any status), else fail
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited during start-up"
    sleep 0.1
  done
  die "$2 did not answer at $1"
}

# Latency text from wrk ("812.00us", "1.23ms", "1.01s") → milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000;
    else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}

# ---------------------------------------------------------------- the throwaway stack
# stack_start [sim]: PostgreSQL in $pgdir (migrated), with "sim" the amoCRM simulator,
# `amo-connect serve` and nginx running the shipped nginx files, everything under $tmp.
# The server's environment is exported (fresh secrets each run); WORKER_THREADS,
# DB_POOL_SIZE and LOG_LEVEL are the caller's (exported before). Sets base, port,
# DATABASE_URL, amo_pid, nginx_pid and, with the simulator, sim, sim_port, sim_pid.
stack_start() {
  local with_sim=${1:-}
  pg_started=1  # before the start: a half-started cluster is stopped too
  DATABASE_URL=$(bash "$root/tools/devstack.sh" pg-start "$pgdir") || die "PostgreSQL did not start"
  port=$(free_port)
  base="http://127.0.0.1:$port"
  export DATABASE_URL JWT_SECRET TOKEN_ENCRYPTION_KEY AMO_CLIENT_SECRET
  JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  TOKEN_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 -w0)
  AMO_CLIENT_SECRET=bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export AMO_CLIENT_ID=00000000-0000-4000-8000-000000000001
  export AMO_REDIRECT_URI="$base/api/v1/integrations/amo-crm/callback"
  export AMO_DOMAIN=reforyou.amocrm.ru
  export TEMPLATES_DIR="$root/templates" SQL_DIR="$root/sql"
  export FCGI_SOCKET="$tmp/amo-connect.sock"
  "$build/amo-connect" migrate >/dev/null || die "migrate failed"
  local sim_conf=()
  if [ "$with_sim" = sim ]; then
    sim_port=$(free_port)
    sim="http://127.0.0.1:$sim_port"
    export AMO_BASE_URL="$sim" AMO_AUTH_URL="$sim/oauth"
    SIM_FCGI_SOCKET="$tmp/sim.sock" SIM_CLIENT_ID="$AMO_CLIENT_ID" SIM_CLIENT_SECRET="$AMO_CLIENT_SECRET" \
      SIM_REDIRECT_URI="$AMO_REDIRECT_URI" SIM_ACCOUNT_HOST="$AMO_DOMAIN" \
      "$build/tools/amo-sim/amo-sim" 2>"$tmp/sim.log" &
    sim_pid=$!
    pids+=("$sim_pid")
    for _ in $(seq 100); do [ -S "$tmp/sim.sock" ] && break; sleep 0.1; done
    [ -S "$tmp/sim.sock" ] || { cat "$tmp/sim.log" >&2; die "the simulator did not open its socket"; }
    sim_conf=("$sim_port" "$tmp/sim.sock")
  fi
  start_server
  bash "$root/tools/devstack.sh" nginx-conf "$tmp/nginx" "$port" "$FCGI_SOCKET" "${sim_conf[@]}" >/dev/null
  nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" -g "daemon off;" &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_http "$base/healthz" nginx "$nginx_pid"
  if [ "$with_sim" = sim ]; then wait_http "$sim/_sim/counters" "the simulator" "$sim_pid"; fi
}

# start_server [VAR=VALUE...]: `amo-connect serve` with the stack's environment and these
# on top (its log: $tmp/amo-connect.log); returns when its socket is there. stop_server.
start_server() {
  rm -f "$FCGI_SOCKET"
  env "$@" "$build/amo-connect" serve 2>>"$tmp/amo-connect.log" &
  amo_pid=$!
  pids+=("$amo_pid")
  for _ in $(seq 100); do
    [ -S "$FCGI_SOCKET" ] && return 0
    kill -0 "$amo_pid" 2>/dev/null || { cat "$tmp/amo-connect.log" >&2; die "amo-connect serve exited"; }
    sleep 0.1
  done
  die "amo-connect did not open $FCGI_SOCKET"
}
stop_server() {
  kill -TERM "$amo_pid" 2>/dev/null || true
  wait "$amo_pid" 2>/dev/null || true
  local i
  for i in "${!pids[@]}"; do [ "${pids[i]}" != "$amo_pid" ] || pids[i]=""; done
  amo_pid=
}

# connect_user USER: a dev-token JWT for USER, connected through auth-url, the simulator's
# consent (a code) and the real callback; prints the JWT. Fails unless the callback is 200.
connect_user() {
  local tok
  tok=$("$build/amo-connect" dev-token "$1") || return 1
  connect_token "$tok" || return 1
  echo "$tok"
}
# connect_token JWT: the same for a JWT already made; returns non-zero unless all went 200.
connect_token() {
  local state grant code referer st
  state=$(curl -sf -H "Authorization: Bearer $1" "$base/api/amo-crm/auth-url" |
    grep -o '"state":"[^"]*"' | cut -d'"' -f4) || return 1
  grant=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{}' "$sim/_sim/issue-code") || return 1
  code=$(echo "$grant" | grep -o '"code":"[^"]*"' | cut -d'"' -f4)
  referer=$(echo "$grant" | grep -o '"referer":"[^"]*"' | cut -d'"' -f4)
  st=$(curl -s -o /dev/null -w '%{http_code}' \
    "$base/api/v1/integrations/amo-crm/callback?code=$code&state=$state&referer=$referer&client_id=$AMO_CLIENT_ID")
  [ "$st" = 200 ] || { echo "connect: the callback answered $st" >&2; return 1; }
}

# Peak resident memory (VmHWM, KiB) of a process and its children.
peak_rss_kib() {
  local total=0 p v
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    v=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# The median of the numbers given as arguments ("-" when none).
median() {
  [ $# -gt 0 ] || { echo -; return; }
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%s", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# A / B with two decimals ("n/a" when B is not positive).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

# wrk_figures WRK_OUTPUT → "rps p50_ms p99_ms non2xx socket_errors requests"
wrk_figures() {
  local out=$1 rps p50 p99 non2xx errors total
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
  p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $NF}')
  errors=$(echo "$out" | awk '/Socket errors:/ {
    for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }')
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "${rps:-0} $p50 $p99 ${non2xx:-0} ${errors:-0} ${total:-0}"
}

# load_users N DATABASE_URL: N connected users shaped like the peers' rows (~1 KB of token
# bytes each). The status endpoint does not decrypt, so these bytes need not be real
# ciphertext (the refresh-due rows are: tools/bench_rows.cpp).
load_users() {
  psql "$2" -q -v ON_ERROR_STOP=1 -c "
    INSERT INTO amo_connection (user_id, account_id, domain, account_name, access_token_enc,
                                refresh_token_enc, key_id, expires_at, last_refresh_at)
    SELECT g::text, 31000000 + g, 'acct' || g || '.amocrm.ru', 'Account ' || g,
           decode(repeat('ab', 800), 'hex'), decode(repeat('cd', 64), 'hex'), 'bench',
           now() + interval '1 day', now()
    FROM generate_series(1, $1) g;
    ANALYZE amo_connection;" >/dev/null || die "could not insert $1 benchmark rows"
}
