#!/usr/bin/env bash
# Throwaway local stack pieces shared by `make run`, `make bench` and the tests:
#   devstack.sh pg-start DIR        init (once) and start a PostgreSQL cluster in DIR; prints DATABASE_URL
#   devstack.sh pg-stop DIR         stop it (fast)
#   devstack.sh nginx-conf DIR PORT SOCKETS [SIM_PORT SIM_SOCKET]
#                                   write DIR/nginx.conf: the shipped http-level include and
#                                   location blocks (server settings included) on 127.0.0.1:PORT,
#                                   upstream amo_connect on the comma-separated unix SOCKETS,
#                                   and (optionally) the amoCRM simulator on 127.0.0.1:SIM_PORT
# PostgreSQL refuses to run as root: as root the cluster runs as the unprivileged user
# $AMO_PG_USER (default nobody).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$d/initdb" ] || { echo "devstack: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  echo "$d"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "${AMO_PG_USER:-nobody}" -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}; shift || true
case "$cmd" in
  pg-start)
    dir=$(mkdir -p "$1" && cd "$1" && pwd)
    bin=$(pg_bin)
    if [ "$(id -u)" = 0 ]; then
      chown "${AMO_PG_USER:-nobody}" "$dir"
      as_pg test -w "$dir" || { echo "devstack: $dir is not reachable by ${AMO_PG_USER:-nobody}; use a path under /tmp" >&2; exit 1; }
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
    fi
    echo "postgresql:///postgres?host=$dir&user=postgres"
    ;;
  pg-stop)
    dir=$(cd "$1" && pwd)
    bin=$(pg_bin)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    ;;
  nginx-conf)
    dir=$(mkdir -p "$1" && cd "$1" && pwd); port=$2; sockets=$3; sim_port=${4:-}; sim_sock=${5:-}
    mkdir -p "$dir/tmp"
    {
      [ "$(id -u)" = 0 ] && echo "user root;"
      cat <<CONF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  # The query string is never logged: the callback's carries the OAuth code.
  log_format amo_json escape=json '{"time":"\$time_iso8601","request_id":"\$request_id","method":"\$request_method","uri":"\$uri","status":\$status,"request_time":\$request_time,"upstream_time":"\$upstream_response_time"}';
  access_log $dir/access.log amo_json;
  client_body_temp_path $dir/tmp/body;
  fastcgi_temp_path $dir/tmp/fastcgi;
  proxy_temp_path $dir/tmp/proxy;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type application/octet-stream;
  include $here/nginx/amo-connect.http.conf;
  upstream amo_connect {
CONF
      IFS=, read -ra socks <<<"$sockets"
      for s in "${socks[@]}"; do echo "    server unix:$s;"; done
      cat <<CONF
  }
  # The only server on this port, hence its default server: the request limits and JSON
  # error pages of the locations file also apply to requests nginx rejects before it
  # reads the Host header.
  server {
    listen 127.0.0.1:$port;
    server_name localhost;
    include $here/nginx/amo-connect.locations.conf;
  }
CONF
      if [ -n "$sim_port" ]; then
        cat <<CONF
  server {
    listen 127.0.0.1:$sim_port;
    location / {
      fastcgi_pass unix:$sim_sock;
      fastcgi_param REQUEST_METHOD \$request_method;
      fastcgi_param REQUEST_URI \$request_uri;
      fastcgi_param QUERY_STRING \$query_string;
      fastcgi_param CONTENT_TYPE \$content_type;
      fastcgi_param CONTENT_LENGTH \$content_length;
      fastcgi_param REMOTE_ADDR \$remote_addr;
      fastcgi_param SERVER_NAME \$host;
      fastcgi_param HTTP_HOST \$http_host;
    }
  }
CONF
      fi
      echo "}"
    } >"$dir/nginx.conf"
    echo "$dir/nginx.conf"
    ;;
  *)
    sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
