#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages that the given needs ask for, and only those
# not installed yet (a dpkg-query check per package: quiet and fast when everything is
# there). Uses sudo when not root.
#   deps.sh NEED...                    build, test-build, run, bench, format, package, or a CTest label
#   deps.sh --ctest BUILD_DIR [ARGS]   the needs of the CTest labels that `ctest ARGS` would run
#   deps.sh --list NEED...             print the packages, install nothing
# `make build` asks for `build` only; `make run`, `make test`, `make deb`… add theirs on top.
set -euo pipefail

# One list per need. A CTest label lists what its tests call at run time.
declare -A need=(
  # Compiling amo-connect and amo-sim.
  [build]="cmake g++ make pkg-config ccache libfcgi-dev libpqxx-dev rapidjson-dev
           libcurl4-openssl-dev libkainjow-mustache-dev libssl-dev libsystemd-dev"
  # Compiling the tests (make test).
  [test-build]="libboost-test-dev"
  # make run: PostgreSQL, nginx, curl for the printed example.
  [run]="postgresql nginx-light curl ca-certificates"
  # make bench (the Fastify peer: nodejs, npm); make bench-profile adds strace and valgrind.
  [bench]="postgresql nginx-light curl ca-certificates wrk nodejs npm strace valgrind"
  [format]="clang-format"
  # make deb: dpkg-buildpackage, debhelper (with dh_installsysusers), lintian.
  [package]="dpkg-dev debhelper lintian"
  # CTest labels.
  [unit]=""
  [db]="postgresql"
  # e2e also runs promtool on /metrics (metrics_pass_promtool).
  [e2e]="postgresql nginx-light curl ca-certificates prometheus"
  [browser]="postgresql nginx-light curl ca-certificates chromium nodejs npm"
  # systemd-analyze, systemd-sysusers, nginx -t, openssl s_client; the installed-layout
  # check (tests/ops/install_test.sh) builds, runs PostgreSQL and speaks FastCGI (cgi-fcgi).
  [ops]="systemd nginx-light openssl curl postgresql libfcgi-bin binutils"
  [rules]="prometheus"
  # The libFuzzer targets (make fuzz, the fuzz label): clang and its fuzzer runtime. make test
  # installs them before configuring, so the fuzz tests are always registered.
  [fuzz]="clang-14 libclang-rt-14-dev"
  # tests/contract: redocly + the validator (npm), the stack, a TLS nginx site (openssl).
  [contract]="postgresql nginx-light curl ca-certificates nodejs npm openssl"
  # tests/ops/deb_test.sh: make deb, then the extracted binary against PostgreSQL.
  [deb]="dpkg-dev debhelper lintian binutils postgresql libfcgi-bin"
)

needs=()
list_only=false
case "${1:-}" in
  --ctest)
    dir=${2:?usage: deps.sh --ctest BUILD_DIR [CTEST_ARGS...]}
    shift 2
    # `ctest -N -V` lists the selected tests with a "Labels: a b" line each.
    labels=$(cd "$dir" && ctest -N -V "$@" | sed -n 's/^ *Labels: *//p' | tr ' ' '\n' | sort -u)
    for l in $labels; do
      if [ -n "${need[$l]+set}" ]; then needs+=("$l"); else echo "deps: no package list for CTest label '$l'" >&2; fi
    done
    ;;
  --list) shift; list_only=true; needs=("$@") ;;
  *) needs=("$@") ;;
esac

wanted=()
for n in "${needs[@]}"; do
  [ -n "${need[$n]+set}" ] || { echo "deps: unknown need '$n' (one of: ${!need[*]})" >&2; exit 2; }
  # shellcheck disable=SC2206
  wanted+=(${need[$n]})
done
if $list_only; then
  printf '%s\n' "${wanted[@]}" | sort -u
  exit 0
fi

missing=()
for p in $(printf '%s\n' "${wanted[@]}" | sort -u); do
  if [ "$p" = npm ]; then
    # npm ships inside some nodejs builds (nodesource); Debian splits it out.
    command -v npm >/dev/null 2>&1 && continue
  fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
