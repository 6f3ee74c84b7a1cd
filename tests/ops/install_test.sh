#!/usr/bin/env bash
# The installed layout (CTest test ops-install, label ops): `make install PREFIX=/usr
# DESTDIR=…` exactly as OPERATIONS.md says, then the installed binary run from there with
# its built-in defaults — check-config shows /usr/share/amo-connect, migrate and serve find
# the installed sql/ and templates/ against a throwaway PostgreSQL. The DESTDIR is laid
# over /usr/share in a private mount namespace (unshare), so the binary really reads
# /usr/share/amo-connect; nothing on the machine changes.
#   tests/ops/install_test.sh SOURCE_DIR BUILD_DIR
# The /usr build lives in BUILD_DIR/install-usr (kept: the next run is incremental).
# Needs: make and the build packages, PostgreSQL, cgi-fcgi (libfcgi-bin), unshare, strings.
set -euo pipefail

# shellcheck source=tests/ops/lib.sh
. "$(dirname "$0")/lib.sh"
ops_init install "$@"

usr_build="$build/install-usr"
dest="$tmp/dest"
bin="$dest/usr/bin/amo-connect"
share=/usr/share/amo-connect

echo "== make install PREFIX=/usr DESTDIR=…"
if make -C "$src" install PREFIX=/usr DESTDIR="$dest" BUILD_DIR="$usr_build" >"$tmp/install.out" 2>&1; then
  pass "make install PREFIX=/usr DESTDIR=… (build in $usr_build)"
else
  fail "make install PREFIX=/usr DESTDIR=…"
  tail -n 30 "$tmp/install.out" | show
  summary install
  exit 1
fi

expected=(
  usr/bin/amo-connect
  usr/lib/systemd/system/amo-connect.socket
  usr/lib/systemd/system/amo-connect.service
  usr/lib/systemd/system/amo-connect-refresh-due.service
  usr/lib/systemd/system/amo-connect-refresh-due.timer
  usr/lib/sysusers.d/amo-connect.conf
  usr/share/doc/amo-connect/OPERATIONS.md
  usr/share/doc/amo-connect/openapi.yaml
  usr/share/doc/amo-connect/API.md
  usr/share/doc/amo-connect/CONFIGURATION.md
  usr/share/doc/amo-connect/CLI.md
  usr/share/doc/amo-connect/NGINX.md
  usr/share/doc/amo-connect/examples/amo-connect.env.example
  usr/share/doc/amo-connect/examples/nginx/amo-connect.conf
  usr/share/doc/amo-connect/examples/nginx/amo-connect.locations.conf
  usr/share/doc/amo-connect/examples/nginx/amo-connect.http.conf
  usr/share/doc/amo-connect/examples/prometheus/amo-connect.rules.yml
)
for f in "$src"/templates/* "$src"/sql/*; do
  expected+=("${share#/}/$(basename "$(dirname "$f")")/$(basename "$f")")
done
(cd "$dest" && find . -type f | sed 's#^\./##' | sort) >"$tmp/installed.txt"
printf '%s\n' "${expected[@]}" | sort >"$tmp/expected.txt"
if diff "$tmp/expected.txt" "$tmp/installed.txt" >"$tmp/files.diff"; then
  pass "installed exactly ${#expected[@]} files (binary, templates, sql, units, sysusers, examples, docs)"
else
  fail "installed files differ from the expected list (< expected, > installed)"
  show "$tmp/files.diff"
fi
check "nothing is installed into /etc" test ! -e "$dest/etc"
check "installed units start /usr/bin/amo-connect" \
  test "$(unit_value "$dest/usr/lib/systemd/system/amo-connect.service" ExecStart)" = "/usr/bin/amo-connect serve" \
  -a "$(unit_value "$dest/usr/lib/systemd/system/amo-connect.service" ExecStartPre)" = "/usr/bin/amo-connect migrate" \
  -a "$(unit_value "$dest/usr/lib/systemd/system/amo-connect-refresh-due.service" ExecStart)" = "/usr/bin/amo-connect refresh-due"
check "the site includes the locations file where OPERATIONS.md puts it" \
  grep -q '^ *include /etc/nginx/snippets/amo-connect.locations.conf;' "$dest/usr/share/doc/amo-connect/examples/nginx/amo-connect.conf"

echo "== the compiled-in defaults"
strings -a "$bin" >"$tmp/strings.txt"
# (The positive side is check-config below and migrate/serve with no directories given: an
# optimised build need not keep "/usr/share/amo-connect" as one string.)
check "the binary names no /usr/local path (strings)" test "$(grep -c '/usr/local' "$tmp/strings.txt")" = 0

pg_start || { summary install; exit 1; }
make_env
check_config "installed" "$share" env -i "${ops_env[@]}" "$bin" check-config

overlay_share "$dest" || { summary install; exit 1; }

echo "== the installed binary, its defaults only (no SQL_DIR, no TEMPLATES_DIR)"
check_migrate "installed, built-in SQL_DIR" all "${in_root[@]}" env -i "${ops_env[@]}" "$bin" migrate
check_migrate "installed, again" none "${in_root[@]}" env -i "${ops_env[@]}" "$bin" migrate

sock="$tmp/amo-connect.sock"
serve_run "installed serve" "$sock" "${in_root[@]}" env -i "${ops_env[@]}" "FCGI_SOCKET=$sock" "$bin" serve

echo "== prefixes"
rc=0
DESTDIR="$tmp/dest-other" cmake --install "$usr_build" --prefix /opt/amo-elsewhere >"$tmp/other.out" 2>&1 || rc=$?
check "cmake --install --prefix other than the configured one is refused, nothing installed (exit $rc)" \
  test "$rc" != 0 -a "$(grep -c 'configured with CMAKE_INSTALL_PREFIX=' "$tmp/other.out")" -ge 1 \
  -a ! -e "$tmp/dest-other/opt/amo-elsewhere/bin/amo-connect"
# The test build keeps CMake's default prefix: its install is consistent too.
test_prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if DESTDIR="$tmp/dest-local" cmake --install "$build" >"$tmp/install-local.out" 2>&1; then
  check "prefix $test_prefix: units start $test_prefix/bin/amo-connect, templates in $test_prefix/share/amo-connect" \
    test "$(unit_value "$tmp/dest-local$test_prefix/lib/systemd/system/amo-connect.service" ExecStart)" = "$test_prefix/bin/amo-connect serve" \
    -a -f "$tmp/dest-local$test_prefix/share/amo-connect/templates/layout.mustache"
  check_config "prefix $test_prefix" "$test_prefix/share/amo-connect" \
    env -i "${ops_env[@]}" "$tmp/dest-local$test_prefix/bin/amo-connect" check-config
else
  fail "DESTDIR=… cmake --install <test build> (prefix $test_prefix)"
  tail -n 10 "$tmp/install-local.out" | show
fi

summary install
