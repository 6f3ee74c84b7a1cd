#!/usr/bin/env bash
# `make run`: the whole stack locally under ./var/ — PostgreSQL, the amoCRM simulator,
# amo-connect serve and nginx on 127.0.0.1:8080. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
var="$root/var"
port=${AMO_RUN_PORT:-8080}
sim_port=${AMO_SIM_PORT:-9180}
mkdir -p "$var"
chmod 755 "$var"

pgdir="$var/pg"
if [ "$(id -u)" = 0 ] && ! runuser -u "${AMO_PG_USER:-nobody}" -- test -x "$var"; then
  pgdir="/tmp/amo-connect-pg-$(echo -n "$root" | md5sum | cut -c1-8)"
  echo "run: $var is not reachable by ${AMO_PG_USER:-nobody}; PostgreSQL lives in $pgdir"
fi

# Development secrets, made once and kept in var/ (git-ignored). Never use them in production.
if [ ! -f "$var/dev.env" ]; then
  umask 077
  cat >"$var/dev.env" <<ENV
JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN_ENCRYPTION_KEY=$(head -c 32 /dev/urandom | base64 -w0)
AMO_CLIENT_SECRET=dev-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
ENV
  umask 022
fi
set -a
# shellcheck disable=SC1091
. "$var/dev.env"
DATABASE_URL=$(bash "$root/tools/devstack.sh" pg-start "$pgdir")
AMO_CLIENT_ID=00000000-0000-4000-8000-000000000001
AMO_REDIRECT_URI="http://127.0.0.1:$port/api/v1/integrations/amo-crm/callback"
AMO_DOMAIN=reforyou.amocrm.ru
AMO_BASE_URL="http://127.0.0.1:$sim_port"
AMO_AUTH_URL="http://127.0.0.1:$sim_port/oauth"
TEMPLATES_DIR="$root/templates"
SQL_DIR="$root/sql"
FCGI_SOCKET="$var/amo-connect.sock"
LOG_LEVEL=${LOG_LEVEL:-info}
set +a

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "run: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$root/tools/devstack.sh" pg-stop "$pgdir"
  echo "run: stopped"
}
trap cleanup INT TERM EXIT

"$build/amo-connect" migrate
SIM_FCGI_SOCKET="$var/amo-sim.sock" SIM_CLIENT_ID="$AMO_CLIENT_ID" SIM_CLIENT_SECRET="$AMO_CLIENT_SECRET" \
  SIM_REDIRECT_URI="$AMO_REDIRECT_URI" SIM_ACCOUNT_HOST="$AMO_DOMAIN" \
  "$build/tools/amo-sim/amo-sim" 2>>"$var/amo-sim.log" &
pids+=($!)
"$build/amo-connect" serve 2> >(tee -a "$var/amo-connect.log" >&2) &
pids+=($!)
bash "$root/tools/devstack.sh" nginx-conf "$var/nginx" "$port" "$FCGI_SOCKET" "$sim_port" "$var/amo-sim.sock" >/dev/null
for _ in $(seq 100); do [ -S "$FCGI_SOCKET" ] && [ -S "$var/amo-sim.sock" ] && break; sleep 0.1; done
nginx -p "$var/nginx" -c "$var/nginx/nginx.conf" -e "$var/nginx/error.log" -g "daemon off;" &
pids+=($!)
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

token=$("$build/amo-connect" dev-token dev-user-1)
cat <<MSG

amo-connect is running (logs in var/):
  base URL        http://127.0.0.1:$port/api/amo-crm/
  amoCRM (sim)    http://127.0.0.1:$sim_port/
  status:
    curl -s -H 'Authorization: Bearer $token' http://127.0.0.1:$port/api/amo-crm/status
  connect in a browser: open the "url" from
    curl -s -H 'Authorization: Bearer $token' http://127.0.0.1:$port/api/amo-crm/auth-url
Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
