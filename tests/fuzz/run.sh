#!/usr/bin/env bash
# Runs fuzz targets built by build.sh, one at a time, and prints what each did.
#
#   run.sh smoke BUILD_DIR [TARGET...]   fixed seed, FUZZ_RUNS executions (default 3000)
#                                        over the seed corpus; new inputs go to a scratch dir
#   run.sh fuzz  BUILD_DIR [TARGET...]   FUZZ_SECONDS (default 60) each; the grown corpus is
#                                        kept in BUILD_DIR/corpus/<target>
#
# Seeds come from tests/fuzz/corpus/<target>/ (never written to); crashes, leaks, timeouts
# and failed invariants are saved under BUILD_DIR/artifacts/<target>/ and make it exit 1.
# Extra libFuzzer flags: FUZZ_FLAGS.
set -uo pipefail
mode=$1 dir=$(cd "$2" && pwd)
shift 2
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
  # shellcheck disable=SC2046
  set -- $(sed -n 's/^  *//; /^set(AMO_FUZZ_TARGETS/,/)/{s/set(AMO_FUZZ_TARGETS//; s/)//; p}' \
    "$here/targets.cmake")
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

failed=0
summary=()
for t in "$@"; do
  bin="$dir/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: $bin is not built"; exit 2; }
  # JSON inputs may be a few KiB deep; a query, header, host or token of more than 4 KiB
  # does not get past nginx.
  case $t in
    json|json_body|jwt_signed|amo_*) dict=json max_len=16384 ;;
    *) dict=$t max_len=4096 ;;
  esac
  flags=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 "-max_len=$max_len")
  [ -f "$here/dict/$dict.dict" ] && flags+=("-dict=$here/dict/$dict.dict")
  art="$dir/artifacts/$t"
  mkdir -p "$art"
  if [ "$mode" = smoke ]; then
    work="$dir/fuzz-work/$t"
    rm -rf "$work" && mkdir -p "$work"
    flags+=(-seed=1 "-runs=${FUZZ_RUNS:-3000}")
  else
    work="$dir/corpus/$t"
    mkdir -p "$work"
    flags+=("-max_total_time=${FUZZ_SECONDS:-60}")
  fi
  log="$art/last-run.log"
  # shellcheck disable=SC2086
  "$bin" "${flags[@]}" ${FUZZ_FLAGS:-} "-artifact_prefix=$art/" "$work" "$here/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(stat number_of_executed_units "$log")
  rate=$(stat average_exec_per_sec "$log")
  added=$(stat new_units_added "$log")
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  line=$(printf '%-16s %9s execs %7s exec/s  cov %5s  new %4s' "$t" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${added:-?}")
  if [ $rc -ne 0 ]; then
    failed=1
    line+="  FAILED (rc $rc; log $log)"
    echo "---- fuzz_$t failed; the end of its log:"
    tail -40 "$log"
  fi
  echo "$line"
  summary+=("$line")
done
if [ ${#summary[@]} -gt 1 ]; then
  echo "---- fuzz ($mode) summary"
  printf '%s\n' "${summary[@]}"
fi
exit $failed
