# shellcheck shell=bash
# Shared by the ops test scripts (sourced, not run): arguments and temp dir, PASS/FAIL
# bookkeeping, a throwaway PostgreSQL, `amo-connect serve` on a unix socket and FastCGI
# requests to it (cgi-fcgi). A script starts with
#   . "$(dirname "$0")/lib.sh"; ops_init NAME "$@"
# and may define ops_on_exit (run before the common clean-up).

# ops_init NAME SOURCE_DIR BUILD_DIR: sets src and build (absolute), and tmp, a temp dir
# removed on exit after ops_on_exit and ops_cleanup.
ops_init() {
  local usage="usage: $1_test.sh SOURCE_DIR BUILD_DIR"
  src=$(cd "${2:?$usage}" && pwd)
  build=$(cd "${3:?$usage}" && pwd)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/amo-$1.XXXXXX")
  chmod 755 "$tmp"
  trap 'if declare -F ops_on_exit >/dev/null; then ops_on_exit; fi; ops_cleanup; rm -rf "$tmp"' EXIT
}

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# check NAME COMMAND...: PASS when the command succeeds.
check() {
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}
# Indents captured output under a FAIL line.
show() { sed 's/^/    | /' "$@" >&2 || true; }
have() { command -v "$1" >/dev/null 2>&1; }
# unit_value FILE KEY: the last value of KEY= in a unit file.
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# The closing line CTest's log and CI read.
summary() {
  echo
  echo "$1: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds (0) or the
# time is up (1).
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# overlay_share ROOT: sets the array in_root to a command prefix that runs a command with
# ROOT/usr/share laid over /usr/share (a read-only overlay in a private mount namespace;
# as non-root inside a user namespace too), so a binary's built-in /usr/share paths are
# exercised without changing the machine. It execs: a background job's $! is the command.
in_root=()
overlay_share() {
  in_root=(unshare -m)
  [ "$(id -u)" = 0 ] || in_root=(unshare -r -m)
  in_root+=(-- sh -c 'mount -t overlay amo-ops -o "lowerdir=$1/usr/share:/usr/share" /usr/share && shift && exec "$@"' sh "$1")
  "${in_root[@]}" true 2>"$tmp/unshare.err" || {
    fail "cannot lay $1/usr/share over /usr/share (unshare -m, mount -t overlay)"
    show "$tmp/unshare.err"
    return 1
  }
}

# --- PostgreSQL -------------------------------------------------------------------------
ops_pg_dir=""
# pg_start: a throwaway cluster under $tmp; sets DATABASE_URL.
pg_start() {
  ops_pg_dir="$tmp/pg"
  DATABASE_URL=$(bash "$src/tools/devstack.sh" pg-start "$ops_pg_dir" 2>"$tmp/pg-start.err") || {
    fail "throwaway PostgreSQL (tools/devstack.sh pg-start)"
    show "$tmp/pg-start.err"
    return 1
  }
}

# The environment of a valid configuration for the throwaway database: fresh secrets, a
# placeholder amoCRM integration (no request leaves the machine). Into the array ops_env.
ops_env=()
make_env() {
  ops_env=(
    PATH=/usr/bin:/bin
    "DATABASE_URL=$DATABASE_URL"
    "JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    "TOKEN_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 -w0)"
    AMO_CLIENT_ID=00000000-0000-4000-8000-000000000001
    AMO_CLIENT_SECRET=ops-test-secret
    AMO_REDIRECT_URI=https://amo-connect.example.com/api/v1/integrations/amo-crm/callback
    AMO_DOMAIN=reforyou.amocrm.ru
    LOG_LEVEL=warn
  )
}

# --- amo-connect serve ------------------------------------------------------------------
ops_serve_pid=""
# serve_start SOCKET COMMAND...: starts COMMAND (an `amo-connect serve` with its
# environment) in the background, stderr in $tmp/serve.err; waits for the socket.
serve_start() {
  local sock=$1
  shift
  rm -f "$sock"
  "$@" 2>"$tmp/serve.err" &
  ops_serve_pid=$!
  wait_until 30 test -S "$sock" -o ! -d "/proc/$ops_serve_pid"
  test -S "$sock"
}
# serve_stop: SIGTERM, waits for the exit; returns its status.
serve_stop() {
  [ -n "$ops_serve_pid" ] || return 0
  local rc=0
  kill -TERM "$ops_serve_pid" 2>/dev/null || true
  wait "$ops_serve_pid" || rc=$?
  ops_serve_pid=""
  return "$rc"
}

# fcgi_get SOCKET URI NAME: a GET over FastCGI (the parameters nginx passes); the response
# (CGI headers, blank line, body) in $tmp/NAME.out; prints the status code.
fcgi_get() {
  local out="$tmp/$3.out"
  env -i REQUEST_METHOD=GET "REQUEST_URI=$2" "DOCUMENT_URI=${2%%\?*}" \
    "QUERY_STRING=$([ "${2#*\?}" != "$2" ] && echo "${2#*\?}")" REMOTE_ADDR=127.0.0.1 \
    SERVER_NAME=localhost SERVER_PROTOCOL=HTTP/1.1 REQUEST_SCHEME=https HTTPS=on \
    HTTP_X_REQUEST_ID=ops-test \
    cgi-fcgi -bind -connect "$1" </dev/null >"$out" 2>"$tmp/$3.err" || true
  sed -n '1{s/^Status: \([0-9]*\).*/\1/p;q}' "$out" | tr -d '\r'
}
# fcgi_body NAME: the body of a fcgi_get response.
fcgi_body() { sed '1,/^\r\{0,1\}$/d' "$tmp/$1.out"; }
# fcgi_header NAME HEADER: one header's value.
fcgi_header() { grep -i "^$2:" "$tmp/$1.out" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

# serve_checks SOCKET LABEL: /healthz, /readyz (the database), and the callback page
# (rendered from the templates) answer as they must.
serve_checks() {
  local sock=$1 label=$2 st
  st=$(fcgi_get "$sock" /healthz healthz)
  check "$label: /healthz → 200 ok (got $st $(fcgi_body healthz))" \
    test "$st" = 200 -a "$(fcgi_body healthz)" = '{"success":true,"data":{"status":"ok"}}'
  st=$(fcgi_get "$sock" /readyz readyz)
  check "$label: /readyz (the database) → 200 ready (got $st $(fcgi_body readyz))" \
    test "$st" = 200 -a "$(fcgi_body readyz)" = '{"success":true,"data":{"status":"ready"}}'
  # A callback with an unknown state: the error page, rendered from the installed templates.
  st=$(fcgi_get "$sock" "/api/v1/integrations/amo-crm/callback?code=x&state=unknown-state" callback)
  check "$label: callback with an unknown state → 400 HTML page from the templates (got $st, $(fcgi_header callback content-type))" \
    test "$st" = 400 -a "$(fcgi_header callback content-type | cut -d';' -f1)" = text/html \
    -a "$(fcgi_body callback | grep -c '</html>')" = 1
}

# check_config LABEL DATADIR COMMAND...: COMMAND (an `amo-connect check-config` with its
# environment) exits 0, shows TEMPLATES_DIR=DATADIR/templates and reaches the database.
check_config() {
  local label=$1 datadir=$2 rc=0
  shift 2
  "$@" >"$tmp/check.out" 2>&1 || rc=$?
  check "$label: check-config exits 0, TEMPLATES_DIR=$datadir/templates, database: ok (exit $rc, $(grep '^TEMPLATES_DIR=' "$tmp/check.out"))" \
    test "$rc" = 0 -a "$(grep -cx "TEMPLATES_DIR=$datadir/templates" "$tmp/check.out")" = 1 \
    -a "$(grep -cx 'database: ok' "$tmp/check.out")" = 1
  [ "$rc" = 0 ] || show "$tmp/check.out"
}

# check_migrate LABEL all|none COMMAND...: COMMAND (an `amo-connect migrate`) exits 0 and
# applies every sql/NNN_*.sql (all) or finds the schema up to date (none).
check_migrate() {
  local label=$1 want=$2 rc=0 n
  shift 2
  n=$(cd "$src/sql" && ls [0-9]*.sql | wc -l)
  "$@" >"$tmp/migrate.out" 2>&1 || rc=$?
  if [ "$want" = all ]; then
    check "$label: migrate applies the $n migrations (exit $rc, $(grep -c '^applied ' "$tmp/migrate.out") applied)" \
      test "$rc" = 0 -a "$(grep -c '^applied [0-9]*_.*\.sql$' "$tmp/migrate.out")" = "$n"
  else
    check "$label: migrate finds the schema up to date (exit $rc)" \
      test "$rc" = 0 -a "$(cat "$tmp/migrate.out")" = "schema is up to date"
  fi
  [ "$rc" = 0 ] || show "$tmp/migrate.out"
}

# serve_run LABEL SOCKET COMMAND...: serve_start, serve_checks, then SIGTERM and exit 0.
serve_run() {
  local label=$1 sock=$2 rc=0
  shift 2
  if serve_start "$sock" "$@"; then
    pass "$label listens on $sock"
    serve_checks "$sock" "$label"
    serve_stop || rc=$?
    check "$label exits 0 on SIGTERM (exit $rc)" test "$rc" = 0
  else
    fail "$label did not listen on $sock"
    show "$tmp/serve.err"
  fi
}

ops_cleanup() {
  serve_stop >/dev/null 2>&1 || true
  [ -z "$ops_pg_dir" ] || bash "$src/tools/devstack.sh" pg-stop "$ops_pg_dir" >/dev/null 2>&1 || true
}
