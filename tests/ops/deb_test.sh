#!/usr/bin/env bash
# The Debian package (CTest label deb): `make deb`, then its control fields, its exact file
# list, its maintainer scripts (run against stubs of systemctl, deb-systemd-*, sysusers and
# dpkg-statoverride: install, upgrade, remove, purge), lintian, and the packaged binary
# itself — extracted with dpkg-deb -x, migrate and serve against a throwaway PostgreSQL,
# /healthz over FastCGI (cgi-fcgi).
#   tests/ops/deb_test.sh SOURCE_DIR BUILD_DIR
# The package is built in BUILD_DIR/deb. Needs: make deb's packages (dpkg-dev, debhelper,
# lintian), PostgreSQL, cgi-fcgi (libfcgi-bin), strings (binutils).
set -euo pipefail

# shellcheck source=tests/ops/lib.sh
. "$(dirname "$0")/lib.sh"
ops_init deb "$@"

deb_dir="$build/deb"
share=/usr/share/amo-connect
conf=/etc/amo-connect/amo-connect.env
units=(amo-connect.socket amo-connect.service amo-connect-refresh-due.service amo-connect-refresh-due.timer)

echo "== make deb"
if make -C "$src" deb DEB_DIR="$deb_dir" LINTIAN=0 >"$tmp/make-deb.out" 2>&1; then
  pass "make deb (dpkg-buildpackage -us -uc -b in $deb_dir/src)"
else
  fail "make deb"
  tail -n 40 "$tmp/make-deb.out" | show
  summary deb
  exit 1
fi
version=$(sed -n 's/^project(amo-connect VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
arch=$(dpkg --print-architecture)
deb="$deb_dir/amo-connect_${version}_${arch}.deb"
check "the package is amo-connect_${version}_${arch}.deb (the version of CMakeLists.txt and debian/changelog)" \
  test -f "$deb" -a "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)" = "$version"
[ -f "$deb" ] || { summary deb; exit 1; }

echo "== control"
check "Package amo-connect, Version $version, Architecture $arch" \
  test "$(dpkg-deb -f "$deb" Package)" = amo-connect -a "$(dpkg-deb -f "$deb" Version)" = "$version" \
  -a "$(dpkg-deb -f "$deb" Architecture)" = "$arch"
depends=$(dpkg-deb -f "$deb" Depends)
absent=""
for d in libpqxx-6.4 libfcgi0ldbl libpq5 libcurl4 libssl3 libsystemd0 ca-certificates systemd-sysusers; do
  [[ "$depends" == *"$d"* ]] || absent="$absent $d"
done
check "Depends has the runtime libraries, ca-certificates, systemd-sysusers${absent:+ (missing:$absent)}" test -z "$absent"

echo "== files"
dpkg-deb -c "$deb" >"$tmp/contents.txt"
awk '$1 ~ /^-/ { print $6 }' "$tmp/contents.txt" | sed 's#^\./##' | sort >"$tmp/files.txt"
expected=(
  etc/amo-connect/amo-connect.env
  usr/bin/amo-connect
  usr/lib/sysusers.d/amo-connect.conf
  usr/share/doc/amo-connect/OPERATIONS.md
  usr/share/doc/amo-connect/openapi.yaml
  usr/share/doc/amo-connect/API.md
  usr/share/doc/amo-connect/CONFIGURATION.md
  usr/share/doc/amo-connect/CLI.md
  usr/share/doc/amo-connect/NGINX.md
  usr/share/doc/amo-connect/changelog.gz
  usr/share/doc/amo-connect/copyright
  usr/share/doc/amo-connect/examples/amo-connect.env.example
  usr/share/doc/amo-connect/examples/nginx/amo-connect.conf
  usr/share/doc/amo-connect/examples/nginx/amo-connect.locations.conf
  usr/share/doc/amo-connect/examples/nginx/amo-connect.http.conf
  usr/share/doc/amo-connect/examples/prometheus/amo-connect.rules.yml
  usr/share/lintian/overrides/amo-connect
  usr/share/man/man1/amo-connect.1.gz
)
for u in "${units[@]}"; do expected+=("lib/systemd/system/$u"); done
for f in "$src"/templates/* "$src"/sql/*; do
  expected+=("${share#/}/$(basename "$(dirname "$f")")/$(basename "$f")")
done
printf '%s\n' "${expected[@]}" | sort >"$tmp/expected.txt"
if diff "$tmp/expected.txt" "$tmp/files.txt" >"$tmp/files.diff"; then
  pass "the package holds exactly the ${#expected[@]} expected files"
else
  fail "the package's files differ from the expected list (< expected, > packaged)"
  show "$tmp/files.diff"
fi
check "the configuration is -rw-r----- root/root in the package" \
  test "$(awk '$6 == "./etc/amo-connect/amo-connect.env" { print $1, $2 }' "$tmp/contents.txt")" = "-rw-r----- root/root"
check "the binary is -rwxr-xr-x root/root" \
  test "$(awk '$6 == "./usr/bin/amo-connect" { print $1, $2 }' "$tmp/contents.txt")" = "-rwxr-xr-x root/root"
check "nothing under /usr/local, no simulator" \
  test "$(grep -c 'usr/local\|amo-sim' "$tmp/contents.txt")" = 0
dpkg-deb -e "$deb" "$tmp/control"
check "conffiles: exactly $conf" test "$(cat "$tmp/control/conffiles")" = "$conf"

root="$tmp/root"
dpkg-deb -x "$deb" "$root"
same=true
for u in "${units[@]}"; do cmp -s "$src/systemd/$u" "$root/lib/systemd/system/$u" || { same=false; echo "    differs: $u"; }; done
check "the units are systemd/'s, unchanged (they already name /usr/bin/amo-connect)" $same
check "the sysusers file is systemd/amo-connect.sysusers.conf" \
  cmp -s "$src/systemd/amo-connect.sysusers.conf" "$root/usr/lib/sysusers.d/amo-connect.conf"
check "the configuration is the example, secrets as <placeholders> only" \
  test "$(cmp -s "$src/systemd/amo-connect.env.example" "$root$conf" && echo same)" = same \
  -a "$(grep -cE '^(JWT_SECRET|TOKEN_ENCRYPTION_KEY|AMO_CLIENT_SECRET)=<[^>]*>$' "$root$conf")" = 3

echo "== maintainer scripts (against stubs)"
check "postinst, prerm, postrm; no preinst (nothing is stopped before an upgrade)" \
  test -x "$tmp/control/postinst" -a -x "$tmp/control/prerm" -a -x "$tmp/control/postrm" -a ! -e "$tmp/control/preinst"
check "no maintainer script touches the database" \
  test "$(cat "$tmp/control/"{postinst,prerm,postrm} | grep -ciE 'psql|dropdb|dropuser|postgres')" = 0
# A simulated root: systemd "running" (its /run directory), the unpacked configuration.
sim="$tmp/sim"
mkdir -p "$sim/run/systemd/system" "$sim/etc/amo-connect" "$tmp/stubs" "$tmp/scripts"
for s in postinst prerm postrm; do
  sed -e "s#/run/systemd/system#$sim/run/systemd/system#g" -e "s#/etc/amo-connect#$sim/etc/amo-connect#g" \
    "$tmp/control/$s" >"$tmp/scripts/$s"
done
cp "$root$conf" "$sim$conf"
calls="$tmp/calls.log"
overrides="$tmp/statoverride"
touch "$overrides"
for tool in deb-systemd-helper deb-systemd-invoke systemctl systemd-sysusers; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\nexit 0\n' "$tool" "$calls" >"$tmp/stubs/$tool"
done
# dpkg-statoverride: --list FILE succeeds when an override exists; --add records, --remove drops.
cat >"$tmp/stubs/dpkg-statoverride" <<STUB
#!/bin/sh
echo "dpkg-statoverride \$*" >>"$calls"
case "\$1" in
  --list) grep -q " \$2\\\$" "$overrides" ;;
  --update) shift; [ "\$1" = --add ] && shift && echo "\$*" >>"$overrides" ;;
  --add) shift; echo "\$*" >>"$overrides" ;;
  --remove) grep -v " \$2\\\$" "$overrides" >"$overrides.new"; mv "$overrides.new" "$overrides" ;;
esac
STUB
chmod +x "$tmp/stubs/"*
# run_script SCRIPT ARGS...: runs it as dpkg would (sh, set -e inside), the calls in $calls.
run_script() {
  : >"$calls"
  env -u DPKG_ROOT PATH="$tmp/stubs:$PATH" sh "$tmp/scripts/$1" "${@:2}" >"$tmp/script.out" 2>&1
}
calls_of() { grep -c "^$1" "$calls" || true; }

rc=0
run_script postinst configure "" || rc=$?
check "install (postinst configure): exit 0, systemd-sysusers amo-connect.conf (exit $rc)" \
  test "$rc" = 0 -a "$(calls_of 'systemd-sysusers amo-connect.conf$')" = 1
check "install: socket, service and timer enabled ($(calls_of 'deb-systemd-helper enable ') enables)" \
  test "$(calls_of 'deb-systemd-helper enable ')" = 3 -a "$(calls_of 'deb-systemd-helper enable amo-connect.socket$')" = 1 \
  -a "$(calls_of 'deb-systemd-helper enable amo-connect.service$')" = 1 \
  -a "$(calls_of 'deb-systemd-helper enable amo-connect-refresh-due.timer$')" = 1
check "install: nothing is started (no deb-systemd-invoke; systemctl only daemon-reload)" \
  test "$(calls_of deb-systemd-invoke)" = 0 -a "$(calls_of systemctl)" = "$(calls_of 'systemctl --system daemon-reload$')"
check "install: the configuration becomes root:amo-connect 0640 (dpkg-statoverride)" \
  test "$(calls_of "dpkg-statoverride --update --add root amo-connect 0640 $sim$conf\$")" = 1
[ "$rc" = 0 ] || show "$tmp/script.out"

rc=0
run_script prerm upgrade "$version" || rc=$?
check "upgrade (prerm upgrade): exit 0, nothing stopped (exit $rc)" test "$rc" = 0 -a "$(calls_of deb-systemd-invoke)" = 0
rc=0
run_script postinst configure 0.0.1 || rc=$?
check "upgrade (postinst configure OLD): the one action is try-restart amo-connect.service; the socket is not touched ($(grep deb-systemd-invoke "$calls" | tr '\n' ';'))" \
  test "$rc" = 0 -a "$(calls_of deb-systemd-invoke)" = 1 \
  -a "$(calls_of 'deb-systemd-invoke try-restart amo-connect.service$')" = 1
check "upgrade: the statoverride is kept, not added again" \
  test "$(calls_of 'dpkg-statoverride --update')" = 0 -a "$(wc -l <"$overrides")" = 1

rc=0
run_script prerm remove || rc=$?
check "remove (prerm remove): the timer, both services and the socket are stopped (exit $rc)" \
  test "$rc" = 0 -a "$(calls_of deb-systemd-invoke)" = 1 \
  -a "$(calls_of 'deb-systemd-invoke stop amo-connect-refresh-due.timer amo-connect-refresh-due.service amo-connect.service amo-connect.socket$')" = 1
rc=0
run_script postrm remove || rc=$?
check "remove (postrm remove): the configuration and its statoverride stay (exit $rc)" \
  test "$rc" = 0 -a -f "$sim$conf" -a "$(calls_of 'dpkg-statoverride --remove')" = 0 -a "$(wc -l <"$overrides")" = 1
rc=0
run_script postrm purge || rc=$?
check "purge (postrm purge): /etc/amo-connect is gone, statoverride removed, units purged (exit $rc)" \
  test "$rc" = 0 -a ! -e "$sim/etc/amo-connect" -a "$(calls_of "dpkg-statoverride --remove $sim$conf\$")" = 1 \
  -a ! -s "$overrides" -a "$(calls_of 'deb-systemd-helper purge')" -ge 1

echo "== lintian"
rc=0
lintian --display-info "$deb" >"$tmp/lintian.out" 2>"$tmp/lintian.err" || rc=$?
sed 's/^/    /' "$tmp/lintian.out"
check "lintian: exit $rc, $(grep -c '^E:' "$tmp/lintian.out" || true) errors, $(grep -c '^W:' "$tmp/lintian.out" || true) warnings (not overridden)" \
  test "$rc" = 0 -a "$(grep -c '^E:' "$tmp/lintian.out" || true)" = 0
[ "$rc" = 0 ] || show "$tmp/lintian.err"

echo "== the packaged binary (dpkg-deb -x into a temp root)"
bin="$root/usr/bin/amo-connect"
strings -a "$bin" >"$tmp/strings.txt"
# An optimised build need not keep "/usr/share/amo-connect" as one string: the positive
# side is check-config, and migrate with no SQL_DIR over the extracted /usr/share, below.
check "the binary names no /usr/local path (strings)" test "$(grep -c '/usr/local' "$tmp/strings.txt")" = 0
pg_start || { summary deb; exit 1; }
make_env
check_config "packaged, no TEMPLATES_DIR" "$share" env -i "${ops_env[@]}" "$bin" check-config
# The root is not /, so the directories are passed explicitly.
ops_env+=("SQL_DIR=$root$share/sql" "TEMPLATES_DIR=$root$share/templates")
check_migrate "packaged, SQL_DIR in the root" all env -i "${ops_env[@]}" "$bin" migrate
# The built-in SQL_DIR: the extracted /usr/share laid over /usr/share, no SQL_DIR given.
if overlay_share "$root"; then
  check_migrate "packaged, built-in SQL_DIR over the package's files" none \
    "${in_root[@]}" env -i "${ops_env[@]}" SQL_DIR= "$bin" migrate
fi
sock="$tmp/amo-connect.sock"
serve_run "packaged serve" "$sock" env -i "${ops_env[@]}" "FCGI_SOCKET=$sock" "$bin" serve

echo "== real dpkg: install, reinstall, remove, purge (in a private mount namespace)"
# /etc, /usr and /var get a throwaway overlay (tmpfs upper layers) in a mount namespace of
# their own: dpkg, systemd-sysusers, deb-systemd-helper and dpkg-statoverride really run,
# and nothing of it is left on the machine. systemd is not PID 1 here, so nothing starts
# either way; enabling is visible as the .wants symlinks.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$tmp/ovl"
  cat >"$tmp/dpkg-cycle.sh" <<'CYCLE'
set -u
deb=$1 ovl=$2
mount -t tmpfs amo-deb "$ovl" || exit 1
for d in etc usr var; do
  mkdir -p "$ovl/$d.up" "$ovl/$d.work"
  mount -t overlay amo-deb -o "lowerdir=/$d,upperdir=$ovl/$d.up,workdir=$ovl/$d.work" "/$d" || exit 1
done
conf=/etc/amo-connect/amo-connect.env
wants=/etc/systemd/system
state() { # state STEP: one KEY=VALUE line per observation
  echo "$1.conf=$(stat -c '%U:%G %a' "$conf" 2>/dev/null || echo absent)"
  echo "$1.bin=$([ -x /usr/bin/amo-connect ] && echo present || echo absent)"
  echo "$1.user=$(getent passwd amo-connect | cut -d: -f1,6,7)"
  echo "$1.override=$(dpkg-statoverride --list "$conf" 2>/dev/null)"
  echo "$1.enabled=$(ls "$wants"/sockets.target.wants/amo-connect.socket "$wants"/multi-user.target.wants/amo-connect.service \
    "$wants"/timers.target.wants/amo-connect-refresh-due.timer 2>/dev/null | wc -l)"
  echo "$1.edit=$(cat "$conf" 2>/dev/null | grep -c '^# ops-test edit$')"
}
dpkg -i "$deb" >"$ovl/dpkg.out" 2>&1; echo "install.rc=$?"
state install
env -i DATABASE_URL="$DATABASE_URL" JWT_SECRET="$JWT_SECRET" TOKEN_ENCRYPTION_KEY="$TOKEN_ENCRYPTION_KEY" \
  AMO_CLIENT_ID="$AMO_CLIENT_ID" AMO_CLIENT_SECRET=x AMO_REDIRECT_URI="$AMO_REDIRECT_URI" AMO_DOMAIN="$AMO_DOMAIN" \
  /usr/bin/amo-connect migrate >"$ovl/migrate.out" 2>&1
echo "installed.migrate=$? $(cat "$ovl/migrate.out")"
echo "# ops-test edit" >>"$conf"
dpkg -i "$deb" >>"$ovl/dpkg.out" 2>&1; echo "reinstall.rc=$?"
state reinstall
dpkg -r amo-connect >>"$ovl/dpkg.out" 2>&1; echo "remove.rc=$?"
state remove
dpkg -P amo-connect >>"$ovl/dpkg.out" 2>&1; echo "purge.rc=$?"
state purge
echo "purge.dir=$([ -e /etc/amo-connect ] && echo present || echo absent)"
sed 's/^/dpkg.out=/' "$ovl/dpkg.out"
CYCLE
  # The throwaway database's settings for the installed binary's migrate.
  for kv in "${ops_env[@]}"; do [ "${kv%%=*}" = PATH ] || export "${kv?}"; done
  unshare -m -- bash "$tmp/dpkg-cycle.sh" "$deb" "$tmp/ovl" >"$tmp/cycle.out" 2>&1 || true
  got() { sed -n "s/^$1=//p" "$tmp/cycle.out" | head -n 1; }
  check "dpkg -i: exit $(got install.rc); user amo-connect ($(got install.user)); conffile $(got install.conf); binary $(got install.bin)" \
    test "$(got install.rc)" = 0 -a "$(got install.user)" = "amo-connect:/:/usr/sbin/nologin" \
    -a "$(got install.conf)" = "root:amo-connect 640" -a "$(got install.bin)" = present \
    -a "$(got install.override)" = "root amo-connect 640 $conf"
  check "dpkg -i: socket, service and timer enabled ($(got install.enabled) of 3 .wants links)" test "$(got install.enabled)" = 3
  check "the installed /usr/bin/amo-connect migrates with its built-in SQL_DIR ($(got installed.migrate))" \
    test "$(got installed.migrate)" = "0 schema is up to date"
  check "reinstall (upgrade path): exit $(got reinstall.rc), the edited configuration kept, still $(got reinstall.conf)" \
    test "$(got reinstall.rc)" = 0 -a "$(got reinstall.edit)" = 1 -a "$(got reinstall.conf)" = "root:amo-connect 640"
  check "dpkg -r: exit $(got remove.rc), binary $(got remove.bin), configuration kept ($(got remove.conf), edit kept), user kept" \
    test "$(got remove.rc)" = 0 -a "$(got remove.bin)" = absent -a "$(got remove.conf)" = "root:amo-connect 640" \
    -a "$(got remove.edit)" = 1 -a -n "$(got remove.user)"
  check "dpkg -P: exit $(got purge.rc), /etc/amo-connect $(got purge.dir), statoverride and .wants links gone, user kept" \
    test "$(got purge.rc)" = 0 -a "$(got purge.dir)" = absent -a -z "$(got purge.override)" \
    -a "$(got purge.enabled)" = 0 -a -n "$(got purge.user)"
  [ "$failed" = 0 ] || grep -v '^dpkg.out=' "$tmp/cycle.out" | show
  [ "$failed" = 0 ] || sed -n 's/^dpkg.out=//p' "$tmp/cycle.out" | tail -n 30 | show
else
  echo "NOTE: not root: the real dpkg cycle is left out (the stubbed scripts above still ran)"
fi

summary deb
