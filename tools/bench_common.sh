# Helpers shared by tools/bench.sh, tools/bench_leads.sh and tools/bench_profile.sh
# (sourced). The caller defines die, root, tmp, pgdir, pids (processes it started, stopped in reverse order; empty
# entries are skipped) and pg_started, and installs: trap bench_cleanup EXIT.

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
