#!/usr/bin/env bash
# Ops checks (CTest label `ops`): the systemd units, the environment example and the
# production nginx site. The install layout is tests/ops/install_test.sh (ops-install).
#   tests/ops/ops_test.sh SOURCE_DIR BUILD_DIR
# Prints one PASS/FAIL line per check and exits non-zero when any check failed.
# Needs: systemd (systemd-analyze, systemd-sysusers), nginx, openssl, curl.
set -euo pipefail

# shellcheck source=tests/ops/lib.sh
. "$(dirname "$0")/lib.sh"
ops_init ops "$@"
nginx_pid_file="$tmp/nginx/nginx.pid"

ops_on_exit() {
  if [ -s "$nginx_pid_file" ]; then
    kill -QUIT "$(cat "$nginx_pid_file")" 2>/dev/null || true
    sleep 0.2
  fi
}


units=(amo-connect.socket amo-connect.service amo-connect-refresh-due.service amo-connect-refresh-due.timer)
services=(amo-connect.service amo-connect-refresh-due.service)

# The binary the units start; a stub when the build has none (only its existence matters).
bin="$build/amo-connect"
if [ ! -x "$bin" ]; then
  mkdir -p "$tmp/stub"
  printf '#!/bin/sh\nexit 0\n' >"$tmp/stub/amo-connect"
  chmod +x "$tmp/stub/amo-connect"
  bin="$tmp/stub/amo-connect"
fi

# ----------------------------------------------------------------------------------------
echo "== systemd"
if have systemd-analyze; then
  mkdir -p "$tmp/units"
  for u in "${units[@]}"; do
    sed "s#/usr/bin/amo-connect#$bin#g" "$src/systemd/$u" >"$tmp/units/$u"
  done
  # verify exits 0 on many parse warnings ("…, ignoring"): any output is a failure.
  if (cd "$tmp/units" && systemd-analyze verify --man=no "${units[@]/#/$tmp/units/}") >"$tmp/verify.out" 2>&1 \
      && [ ! -s "$tmp/verify.out" ]; then
    pass "systemd-analyze verify ${units[*]}"
  else
    fail "systemd-analyze verify ${units[*]}"
    show "$tmp/verify.out"
  fi

  for s in "${services[@]}"; do
    # --threshold is on the 0–100 scale; the summary prints tenths (1.1 = 11).
    if systemd-analyze security --offline=yes --threshold=20 --no-pager "$tmp/units/$s" >"$tmp/security.out" 2>&1; then
      pass "systemd-analyze security $s: $(grep -o 'Overall exposure level.*' "$tmp/security.out")"
    else
      fail "systemd-analyze security $s above 2.0 (or failed)"
      grep -E '✗|Overall' "$tmp/security.out" | show
    fi
  done
else
  fail "systemd-analyze is not installed (make deps)"
fi

if have systemd-sysusers; then
  mkdir -p "$tmp/sysroot/etc"
  touch "$tmp/sysroot/etc/passwd" "$tmp/sysroot/etc/group" "$tmp/sysroot/etc/shadow" "$tmp/sysroot/etc/gshadow"
  if systemd-sysusers --root="$tmp/sysroot" "$src/systemd/amo-connect.sysusers.conf" >"$tmp/sysusers.out" 2>&1 \
      && grep -q '^amo-connect:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$tmp/sysroot/etc/passwd" \
      && grep -q '^amo-connect:' "$tmp/sysroot/etc/group"; then
    pass "systemd-sysusers creates the system user amo-connect (nologin)"
  else
    fail "systemd-sysusers amo-connect.sysusers.conf"
    show "$tmp/sysusers.out"
  fi
else
  fail "systemd-sysusers is not installed"
fi

sock=$(unit_value "$src/systemd/amo-connect.socket" ListenStream)
check "socket is $sock, root:www-data 0660" \
  test "$sock" = /run/amo-connect/amo-connect.sock \
  -a "$(unit_value "$src/systemd/amo-connect.socket" SocketGroup)" = www-data \
  -a "$(unit_value "$src/systemd/amo-connect.socket" SocketMode)" = 0660
check "nginx upstream uses the socket unit's path" grep -q "server unix:$sock;" "$src/nginx/amo-connect.conf"
check "the server's default FCGI_SOCKET is the socket unit's path" \
  grep -q "fcgi_socket = \"$sock\"" "$src/src/config/config.hpp"
check "amo-connect.service is Type=notify, runs migrate before serve" \
  test "$(unit_value "$src/systemd/amo-connect.service" Type)" = notify \
  -a "$(unit_value "$src/systemd/amo-connect.service" ExecStartPre)" = "/usr/bin/amo-connect migrate" \
  -a "$(unit_value "$src/systemd/amo-connect.service" ExecStart)" = "/usr/bin/amo-connect serve"
check "amo-connect-refresh-due.service is a oneshot of refresh-due" \
  test "$(unit_value "$src/systemd/amo-connect-refresh-due.service" Type)" = oneshot \
  -a "$(unit_value "$src/systemd/amo-connect-refresh-due.service" ExecStart)" = "/usr/bin/amo-connect refresh-due"
check "timer: daily, randomized, persistent" \
  test "$(unit_value "$src/systemd/amo-connect-refresh-due.timer" OnCalendar)" = daily \
  -a -n "$(unit_value "$src/systemd/amo-connect-refresh-due.timer" RandomizedDelaySec)" \
  -a "$(unit_value "$src/systemd/amo-connect-refresh-due.timer" Persistent)" = true
sysuser=$(awk '$1 == "u" { print $2 }' "$src/systemd/amo-connect.sysusers.conf")
for s in "${services[@]}"; do
  check "$s: User=$sysuser, EnvironmentFile=/etc/amo-connect/amo-connect.env" \
    test "$(unit_value "$src/systemd/$s" User)" = "$sysuser" \
    -a "$(unit_value "$src/systemd/$s" EnvironmentFile)" = /etc/amo-connect/amo-connect.env
done
grace=$(sed -n 's/.*int shutdown_grace_s = \([0-9]*\);.*/\1/p' "$src/src/config/config.hpp")
stop=$(unit_value "$src/systemd/amo-connect.service" TimeoutStopSec | tr -dc 0-9)
check "TimeoutStopSec (${stop}s) exceeds the default SHUTDOWN_GRACE_S (${grace}s)" test "${stop:-0}" -gt "${grace:-999}"

# ----------------------------------------------------------------------------------------
echo "== environment example"
example="$src/systemd/amo-connect.env.example"
vars=$(grep -oE 'env\.(req|opt|integer)\("[A-Z0-9_]+"' "$src/src/config/config.cpp" | grep -oE '[A-Z0-9_]+' | sort -u)
vars="$vars SQL_DIR"
missing=""
for v in $vars; do grep -qE "^#?$v=" "$example" || missing="$missing $v"; done
check "every variable of src/config/config.cpp and SQL_DIR is in the example${missing:+ (missing:$missing)}" test -z "$missing"
required=$(grep -oE 'env\.req\("[A-Z0-9_]+"' "$src/src/config/config.cpp" | grep -oE '[A-Z0-9_]+' | sort -u)
commented=""
for v in $required; do grep -qE "^$v=" "$example" || commented="$commented $v"; done
check "required variables are set (not commented out)${commented:+ (not set:$commented)}" test -z "$commented"
secrets_ok=true
for v in JWT_SECRET TOKEN_ENCRYPTION_KEY AMO_CLIENT_SECRET; do
  grep -qE "^$v=<[^>]*>$" "$example" || secrets_ok=false
done
check "secrets in the example are <placeholders>" $secrets_ok
# The unedited example must not start: read it the way systemd does and ask the binary.
if [ "$bin" = "$build/amo-connect" ]; then
  envv=(PATH=/usr/bin:/bin)
  while IFS= read -r line; do
    case "$line" in '#'* | '') continue ;; esac
    k=${line%%=*}
    val=${line#*=}
    val=${val#\"}
    val=${val%\"}
    envv+=("$k=$val")
  done <"$example"
  rc=0
  env -i "${envv[@]}" "$bin" check-config >"$tmp/check.out" 2>&1 || rc=$?
  if [ "$rc" = 2 ] && grep -q 'configuration error: JWT_SECRET:' "$tmp/check.out"; then
    pass "the unedited example is refused: $(grep -o 'configuration error: .*' "$tmp/check.out")"
  else
    fail "the unedited example was not refused with a JWT_SECRET configuration error (exit $rc)"
    show "$tmp/check.out"
  fi
fi

# ----------------------------------------------------------------------------------------
echo "== nginx"
if have nginx && have openssl && have curl; then
  n="$tmp/nginx"
  mkdir -p "$n/log" "$n/tmp" "$n/acme/.well-known/acme-challenge"
  echo acme-ok >"$n/acme/.well-known/acme-challenge/token123"
  host=amo-connect.example.com
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$host" \
    -addext "subjectAltName=DNS:$host" -keyout "$n/key.pem" -out "$n/cert.pem" >"$n/openssl.out" 2>&1 \
    || { fail "openssl req -x509 (throwaway certificate)"; show "$n/openssl.out"; }

  # A copy of the site with the certificates, the include, the logs and the ACME root in
  # the temp dir; everything else as shipped.
  sed -e "s#/etc/letsencrypt/live/$host/fullchain.pem#$n/cert.pem#" \
      -e "s#/etc/letsencrypt/live/$host/privkey.pem#$n/key.pem#" \
      -e "s#include /etc/nginx/snippets/amo-connect.locations.conf;#include $src/nginx/amo-connect.locations.conf;#" \
      -e "s#include /etc/nginx/snippets/amo-connect.http.conf;#include $src/nginx/amo-connect.http.conf;#" \
      -e "s#/var/log/nginx/#$n/log/#" \
      -e "s#/var/www/letsencrypt#$n/acme#" \
      "$src/nginx/amo-connect.conf" >"$n/site.conf"
  main_conf() { # main_conf SITE_FILE OUT
    {
      [ "$(id -u)" = 0 ] && echo "user root;"
      cat <<CONF
worker_processes 1;
pid $nginx_pid_file;
error_log $n/log/main-error.log warn;
events { worker_connections 128; }
http {
  client_body_temp_path $n/tmp/body;
  fastcgi_temp_path $n/tmp/fastcgi;
  proxy_temp_path $n/tmp/proxy;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  default_type application/octet-stream;
  include $1;
}
CONF
    } >"$2"
  }
  main_conf "$n/site.conf" "$n/nginx-t.conf"
  if nginx -t -p "$n/" -c "$n/nginx-t.conf" >"$n/t.out" 2>&1 && ! grep -q '\[warn\]\|\[emerg\]' "$n/t.out"; then
    pass "nginx -t on nginx/amo-connect.conf (throwaway certificate):"
    sed 's/^/    /' "$n/t.out"
  else
    fail "nginx -t on nginx/amo-connect.conf"
    show "$n/t.out"
  fi

  # The same site, live on two free local ports, with no service behind the socket.
  started=false
  for attempt in 1 2 3 4 5; do
    p80=$((20000 + RANDOM % 20000))
    p443=$((p80 + 1))
    sed -e "s#^\( *\)listen 80;#\1listen 127.0.0.1:$p80;#" \
        -e "s#^\( *\)listen 443 ssl http2;#\1listen 127.0.0.1:$p443 ssl http2;#" \
        -e '/listen \[::\]/d' \
        -e "s#server unix:/run/amo-connect/amo-connect.sock;#server unix:$n/absent.sock;#" \
        "$n/site.conf" >"$n/site-live.conf"
    main_conf "$n/site-live.conf" "$n/nginx-live.conf"
    if nginx -p "$n/" -c "$n/nginx-live.conf" >"$n/start.out" 2>&1; then
      started=true
      break
    fi
  done
  if ! $started; then
    fail "nginx did not start with the site on local ports"
    show "$n/start.out"
  else
    pass "nginx runs the site (http 127.0.0.1:$p80, https 127.0.0.1:$p443)"
    # req NAME CURL-ARGS...: body in $n/NAME.body, headers in $n/NAME.h, status printed.
    req() {
      local name=$1
      shift
      curl -sS -k --max-time 10 --resolve "$host:$p443:127.0.0.1" --resolve "$host:$p80:127.0.0.1" \
        -o "$n/$name.body" -D "$n/$name.h" -w '%{http_code}' "$@" 2>"$n/$name.err" || echo "curl-failed"
    }
    hdr() { grep -i "^$2:" "$n/$1.h" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
    https="https://$host:$p443"

    st=$(req redirect "http://$host:$p80/api/amo-crm/status?x=1")
    check "http → 301 https, path and query kept (got $st $(hdr redirect location))" \
      test "$st" = 301 -a "$(hdr redirect location)" = "https://$host/api/amo-crm/status?x=1"
    st=$(req acme "http://$host:$p80/.well-known/acme-challenge/token123")
    check "http serves /.well-known/acme-challenge/ (got $st)" \
      test "$st" = 200 -a "$(cat "$n/acme.body")" = acme-ok

    st=$(curl -sS -k --max-time 10 --resolve "$host:$p443:127.0.0.1" --http2 -o /dev/null \
      -w '%{http_version}' "$https/healthz" 2>&1 || true)
    check "https answers over HTTP/2 (got $st)" test "$st" = 2
    if openssl s_client -connect "127.0.0.1:$p443" -servername "$host" -tls1_2 \
        -cipher ECDHE-RSA-AES128-GCM-SHA256 </dev/null >"$n/tls12.out" 2>&1; then
      pass "TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256"
    else
      fail "TLS 1.2 with ECDHE-RSA-AES128-GCM-SHA256"
      tail -n 5 "$n/tls12.out" | show
    fi
    if openssl s_client -connect "127.0.0.1:$p443" -servername "$host" -tls1_2 \
        -cipher AES128-SHA </dev/null >"$n/tlsweak.out" 2>&1; then
      fail "TLS 1.2 with a non-forward-secret CBC cipher (AES128-SHA) must be refused"
    else
      pass "TLS 1.2 with a non-forward-secret CBC cipher (AES128-SHA) is refused"
    fi
    if openssl s_client -connect "127.0.0.1:$p443" -servername "$host" -tls1_3 </dev/null >"$n/tls13.out" 2>&1; then
      pass "TLS 1.3"
    else
      fail "TLS 1.3"
      tail -n 5 "$n/tls13.out" | show
    fi

    st=$(req unknown "$https/no/such/path")
    check "unknown path → JSON 404 not_found with X-Request-Id and HSTS (got $st)" \
      test "$st" = 404 -a -n "$(hdr unknown x-request-id)" -a -n "$(hdr unknown strict-transport-security)" \
      -a "$(grep -c '"code":"not_found"' "$n/unknown.body")" = 1
    st=$(req down "$https/api/amo-crm/status")
    check "service down → JSON 502 service_unavailable, Retry-After, X-Request-Id (got $st)" \
      test "$st" = 502 -a -n "$(hdr down retry-after)" -a -n "$(hdr down x-request-id)" \
      -a "$(hdr down content-type)" = application/json \
      -a "$(grep -c '"success":false,"error":{"code":"service_unavailable"' "$n/down.body")" = 1
    st=$(req health "$https/healthz")
    check "/healthz with the service down → JSON 502 (got $st)" \
      test "$st" = 502 -a "$(grep -c '"code":"service_unavailable"' "$n/health.body")" = 1
    st=$(req metrics "$https/metrics")
    check "/metrics from 127.0.0.1 is passed on (502 without a service, not 403) (got $st)" test "$st" = 502
    head -c 200000 /dev/zero | tr '\0' a >"$n/big.json"
    st=$(req big -X POST -H 'Content-Type: application/json' -H 'Expect:' --data-binary "@$n/big.json" \
      "$https/api/amo-crm/exchange-code")
    check "body over 128k → JSON 413 payload_too_large from nginx (got $st)" \
      test "$st" = 413 -a "$(grep -c '"code":"payload_too_large"' "$n/big.body")" = 1

    # nginx's own errors on the TLS server (the e2e suite nginx_errors covers the rest
    # through the test stack): the JSON shape, over HTTP/1.1 and HTTP/2.
    # json_error NAME GOT WANT CODE: the answer NAME had status GOT = WANT, application/json,
    # the JSON error CODE, X-Request-Id and Cache-Control: no-store.
    json_error() {
      test "$2" = "$3" -a "$(hdr "$1" content-type)" = application/json \
        -a "$(grep -c "^{\"success\":false,\"error\":{\"code\":\"$4\",\"message\":\"[^\"]*\"}}\$" "$n/$1.body")" = 1 \
        -a -n "$(hdr "$1" x-request-id)" -a "$(hdr "$1" cache-control)" = no-store
    }
    big=$(head -c 20000 /dev/zero | tr '\0' a)
    st=$(req big_h1 --http1.1 -H "X-Big: $big" "$https/api/amo-crm/status")
    check "HTTP/1.1, a 20 kB header → JSON 431 header_too_large (got $st)" json_error big_h1 "$st" 431 header_too_large
    # HTTP/2 has no answer for a header field over the buffer size: nginx ends the
    # connection (GOAWAY ENHANCE_YOUR_CALM), and logs status 0.
    st=$(req big_h2 --http2 -H "X-Big: $big" "$https/api/v1/integrations/amo-crm/status")
    check "HTTP/2, a 20 kB header → the connection ends, no answer, no page (got $st)" \
      test "$st" = 000curl-failed -a ! -s "$n/big_h2.body"
    st=$(req many_h2 --http2 -H "X-A: ${big:0:7000}" -H "X-B: ${big:0:7000}" -H "X-C: ${big:0:7000}" \
      "$https/api/v1/integrations/amo-crm/status")
    check "HTTP/2, 21 kB of headers in 7 kB fields are passed on (502 without a service) (got $st)" \
      json_error many_h2 "$st" 502 service_unavailable
    st=$(req long_query --http1.1 "$https/api/amo-crm/callback?state=$(head -c 10000 /dev/zero | tr '\0' q)")
    check "HTTP/1.1, a 10 kB query → JSON 414 uri_too_long (got $st)" json_error long_query "$st" 414 uri_too_long
    st=$(req trace_h2 --http2 -X TRACE "$https/api/amo-crm/status")
    check "HTTP/2, TRACE → JSON 405 method_not_allowed (got $st)" json_error trace_h2 "$st" 405 method_not_allowed
    st=$(req plain_to_tls "http://$host:$p443/api/amo-crm/status")
    check "plain HTTP to the TLS port → JSON 400 bad_request (got $st)" json_error plain_to_tls "$st" 400 bad_request

    # The access log: JSON lines, the request id, never the query string.
    st=$(req cb "$https/api/v1/integrations/amo-crm/callback?code=SECRETCODE4711&state=SECRETSTATE0815")
    rid=$(hdr cb x-request-id)
    sleep 0.3
    log="$n/log/amo-connect.access.log"
    check "access log has the callback's request id $rid" grep -q "\"request_id\":\"$rid\"" "$log"
    check "access log keeps the path, not the query (no OAuth code or state)" \
      test "$(grep -c 'SECRETCODE4711\|SECRETSTATE0815' "$log")" = 0 \
      -a "$(grep -c '"uri":"/api/v1/integrations/amo-crm/callback"' "$log")" -ge 1
    if have python3; then
      check "every access log line is a JSON object" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    json.loads(line)' "$log"
    elif have jq; then
      check "every access log line is a JSON object" jq -e . "$log" >/dev/null
    else
      check "every access log line looks like a JSON object" test "$(grep -cv '^{.*}$' "$log")" = 0
    fi

    # Per-address rate limits: only the three limited endpoints, both prefixes. One curl
    # process sends COUNT requests on one connection (URL globbing), so the burst is
    # exhausted well before the rate refills it.
    limited() { # limited NAME COUNT URL [CURL-ARGS...]: how many of COUNT requests got 429
      local name=$1 count=$2 url=$3
      shift 3
      mkdir -p "$n/$name"
      curl -sS -k --max-time 60 --resolve "$host:$p443:127.0.0.1" -o "$n/$name/#1" -w '%{http_code}\n' \
        "$@" "$url" 2>"$n/$name.err" | grep -c '^429$' || true
    }
    c=$(limited rl_key 14 "$https/api/amo-crm/exchange-api-key?n=[1-14]" -X POST -H 'Content-Type: application/json' -d '{}')
    check "exchange-api-key (10/min, burst 10): 14 quick requests → 429s (got $c)" test "$c" -ge 1
    st=$(req rl_key_one -X POST -H 'Content-Type: application/json' -d '{}' "$https/api/amo-crm/exchange-api-key")
    check "429 is the JSON rate_limited error with Retry-After and X-Request-Id (got $st)" \
      test "$st" = 429 -a "$(grep -c '"success":false,"error":{"code":"rate_limited"' "$n/rl_key_one.body")" = 1 \
      -a -n "$(hdr rl_key_one retry-after)" -a -n "$(hdr rl_key_one x-request-id)"
    c=$(limited rl_auth 60 "$https/api/v1/integrations/amo-crm/auth-url?n=[1-60]")
    check "auth-url (second prefix; 60/min, burst 30): 60 quick requests → 429s (got $c)" test "$c" -ge 1
    c=$(limited rl_cb 100 "$https/api/amo-crm/callback?state=x&n=[1-100]")
    check "callback (120/min, burst 60): 100 quick requests → 429s (got $c)" test "$c" -ge 1
    c=$(limited rl_status 100 "$https/api/amo-crm/status?n=[1-100]")
    check "status is not limited by nginx: 100 quick requests → no 429 (got $c)" test "$c" = 0
    c=$(limited rl_leads 100 "$https/api/v1/integrations/amo-crm/leads?n=[1-100]")
    check "leads is not limited by nginx: 100 quick requests → no 429 (got $c)" test "$c" = 0
    check "rejections are in the access log as limit_req REJECTED" grep -q '"limit_req":"REJECTED"' "$log"
    check "rejections stay out of nginx's error log (limit_req_log_level info)" \
      test "$(grep -c 'limiting requests' "$n/log/amo-connect.error.log" 2>/dev/null || true)" = 0
  fi
else
  fail "nginx, openssl or curl is not installed (make deps)"
fi

summary ops
