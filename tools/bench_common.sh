# Helpers shared by tools/bench.sh and tools/bench_leads.sh (sourced). The caller defines
# die, root, tmp, pgdir, pids (processes it started, stopped in reverse order; empty
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
