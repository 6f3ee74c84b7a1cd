#!/usr/bin/env bash
# Mutation testing: does the test suite notice when the code is wrong?
#
#   tools/mutants.sh [--list | --check] [NAME...]    (make mutants [MUTANTS="NAME..."])
#
# Each tests/mutants/NAME.patch is one small, deliberate bug (a `git diff` against the
# tree) with a header saying what it breaks and which tests must notice:
#
#   # what: the JWT exp claim is never checked
#   # test: unit jwt/expiry_and_leeway
#   # test: e2e foundation/unauthorized_variants
#   diff --git a/src/auth/jwt.cpp b/src/auth/jwt.cpp
#   ...
#
# A `test:` line names a CTest label and optionally a Boost.Test --run_test filter
# (suite/case, suite/a,b, several joined by ':'). For unit, db and e2e the label's test
# binary (what its CTest test runs) is started directly with the filter; any other label
# (ops) runs as `ctest -L LABEL`. The lines run in order until one fails.
#
# The mutants are applied one at a time to a scratch copy of the tree (never to the tree
# itself): $MUTANTS_DIR/tree, kept between runs, with one build directory configured once
# (Debug, no sanitizers, ccache) and rebuilt incrementally. First the unmutated copy is
# built and every test line of the selected mutants runs once: all must pass, else there is
# nothing to measure. Then per mutant: apply, build what its labels need, run its tests,
# restore. A mutant is "killed" when a test fails (the failing test cases are named),
# "SURVIVED" when all pass (a missing test: write it), "NOT APPLIED" when its patch no
# longer fits the code (refresh it: make the change again and `git diff` it), "NO BUILD"
# when the mutated tree does not compile (a mutant must be a bug, not a syntax error).
#
# --check only proves that every selected patch still applies to the tree as it is (CTest
# runs it in the unit label, so a refactor that outdates a mutant turns the suite red, not
# a later `make mutants`); it builds nothing.
#
# Prints a table and writes it to $MUTANTS_DIR/report.txt. Exit status 0 only when every
# selected mutant was killed. Slow (minutes per e2e mutant on two cores): not part of CI.
#
# Environment:
#   MUTANTS_DIR      scratch directory (default /tmp/amo-mutants-<uid>-<hash of the tree path>)
#   MUTANTS_JOBS     build parallelism (default 2)
#   MUTANTS_TIMEOUT  seconds one test line may run before it counts as failed (default 900)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
patches_dir="$root/tests/mutants"
jobs=${MUTANTS_JOBS:-2}
timeout_s=${MUTANTS_TIMEOUT:-900}
work=${MUTANTS_DIR:-/tmp/amo-mutants-$(id -u)-$(printf '%s' "$root" | cksum | cut -d' ' -f1)}
tree="$work/tree"
build="$work/build"
logs="$work/logs"

usage() { sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'; }

list_only=false
check_only=false
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --list) list_only=true ;;
    --check) check_only=true ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "mutants: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1") ;;
  esac
  shift
done

# ---------------------------------------------------------------------------- the mutants
header() { sed -n "s/^# $2: *//p" "$1"; }  # header FILE KEY: the KEY lines' values
selected=()
for p in "$patches_dir"/*.patch; do
  [ -e "$p" ] || continue
  id=$(basename "$p" .patch)
  if [ ${#names[@]} -gt 0 ]; then
    hit=false
    for n in "${names[@]}"; do
      # shellcheck disable=SC2053 # NAME may be a glob
      [[ $id == $n ]] && hit=true
    done
    $hit || continue
  fi
  if [ -z "$(header "$p" what)" ] || [ -z "$(header "$p" test)" ]; then
    echo "mutants: $p needs a '# what:' and at least one '# test:' line" >&2
    exit 2
  fi
  selected+=("$p")
done
if [ ${#selected[@]} -eq 0 ]; then
  echo "mutants: no mutant in $patches_dir matches ${names[*]:-(any)}" >&2
  exit 2
fi
if $list_only; then
  for p in "${selected[@]}"; do
    printf '%-28s %s\n' "$(basename "$p" .patch)" "$(header "$p" what)"
    header "$p" test | sed 's/^/    test: /'
  done
  exit 0
fi

if $check_only; then
  stale=0
  for p in "${selected[@]}"; do
    if ! (cd "$root" && git apply --check "$p" 2>/dev/null); then
      echo "mutants: $(basename "$p") no longer applies: make the change again and git diff it" >&2
      stale=$((stale + 1))
    fi
  done
  echo "mutants: ${#selected[@]} patches checked, $stale stale"
  [ "$stale" -eq 0 ]
  exit
fi

for tool in git cmake ctest timeout; do
  command -v "$tool" >/dev/null || { echo "mutants: $tool is required (make deps)" >&2; exit 2; }
done

# -------------------------------------------------------------------------- scratch copy
# The tree's files as git sees them (tracked, and untracked but not ignored), copied over
# the scratch copy where their content differs, so that the build only redoes what
# changed; files gone from the tree are removed from the copy. A copied file gets a new
# modification time: a file restored after a mutant always rebuilds.
mkdir -p "$tree" "$build" "$logs"
sync_tree() {
  local list="$work/files" f
  (cd "$root" && git ls-files -co --exclude-standard) | sort >"$list.new"
  while IFS= read -r f; do
    [ -f "$root/$f" ] || continue
    if ! cmp -s "$root/$f" "$tree/$f"; then
      mkdir -p "$(dirname "$tree/$f")"
      cp "$root/$f" "$tree/$f"
    fi
  done <"$list.new"
  if [ -f "$list" ]; then
    comm -23 "$list" "$list.new" | while IFS= read -r f; do rm -f "$tree/$f"; done
  fi
  mv "$list.new" "$list"
}

# git apply outside any repository (the scratch copy is none): a plain, exact patch tool.
apply() { (cd "$tree" && GIT_CEILING_DIRECTORIES="$work" git apply "$@"); }

# ------------------------------------------------------------------------ build and test
target_of() {
  case "$1" in
    unit | db | e2e) echo "$1_tests" ;;
    ops) echo amo-connect ;;
    *) echo all ;;
  esac
}

# build LOG LABEL...: builds what the labels need.
build_for() {
  local log=$1 targets=() l t
  shift
  for l in "$@"; do
    t=$(target_of "$l")
    [[ " ${targets[*]-} " == *" $t "* ]] || targets+=("$t")
  done
  cmake --build "$build" -j "$jobs" --target "${targets[@]}" >"$log" 2>&1
}

# run_line LOG LABEL [FILTER]: runs one test line; returns its status (124: timed out).
run_line() {
  local log=$1 label=$2 filter=${3:-}
  case "$label" in
    unit | db | e2e)
      local args=(--color_output=no --log_level=error --report_level=short)
      [ -n "$filter" ] && args+=("--run_test=$filter")
      (cd "$build/tests" && timeout -k 30 "$timeout_s" "./${label}_tests" "${args[@]}") \
        </dev/null >"$log" 2>&1
      ;;
    *)
      (cd "$build" && timeout -k 30 "$timeout_s" ctest -L "^${label}\$" --output-on-failure) \
        </dev/null >"$log" 2>&1
      ;;
  esac
}

# failures LOG LABEL STATUS: the failing test cases (Boost.Test's `in "suite/case"`, or the
# first FAIL line of the ops checks).
failures() {
  local log=$1 label=$2 rc=$3 found
  found=$(grep -aoE '(error|fatal error): in "[^"]+"' "$log" | sed 's/.*in "\(.*\)"/\1/' |
    awk '!seen[$0]++' | head -n 3 | paste -sd ',' - | sed 's/,/, /g' || true)
  if [ -z "$found" ]; then
    found=$(grep -a -m1 -oE '^FAIL: .{0,70}' "$log" | sed "s/^FAIL: /$label: /" || true)
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    found="${found:+$found, }$label: timed out after ${timeout_s} s"
  fi
  echo "${found:-$label: exit status $rc}"
}

# ----------------------------------------------------------------------------------- run
echo "mutants: scratch copy $tree"
sync_tree
if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "mutants: configuring $build (Debug, no sanitizers)"
  cmake -S "$tree" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DAMO_SANITIZE=OFF >"$logs/configure.log" 2>&1 ||
    { cat "$logs/configure.log" >&2; exit 2; }
fi

# The labels of the selection and, per label, the union of its filters (one baseline run
# per label: Boost.Test joins filters with ':'; a line without a filter means all).
labels=()
declare -A union=()
for p in "${selected[@]}"; do
  while IFS= read -r l; do
    lab=${l%% *}
    filter=""
    [[ $l == *" "* ]] && filter=${l#* }
    if [[ " ${labels[*]-} " != *" $lab "* ]]; then
      labels+=("$lab")
      union[$lab]=$filter
    elif [ -n "${union[$lab]}" ]; then
      if [ -z "$filter" ]; then union[$lab]=""; else union[$lab]+=":$filter"; fi
    fi
  done < <(header "$p" test)
done

echo "mutants: baseline build (${labels[*]})"
if ! build_for "$logs/baseline-build.log" "${labels[@]}"; then
  tail -n 40 "$logs/baseline-build.log" >&2
  echo "mutants: the unmutated tree does not build" >&2
  exit 2
fi
for lab in "${labels[@]}"; do
  printf 'mutants: baseline %s ... ' "$lab"
  if run_line "$logs/baseline-$lab.log" "$lab" "${union[$lab]}"; then
    echo ok
  else
    echo FAILED
    tail -n 40 "$logs/baseline-$lab.log" >&2
    echo "mutants: the unmutated tree fails its $lab tests: fix that first ($logs/baseline-$lab.log)" >&2
    exit 2
  fi
done

results=()
killed=0
total=0
for p in "${selected[@]}"; do
  id=$(basename "$p" .patch)
  what=$(header "$p" what)
  total=$((total + 1))
  printf 'mutants: [%d/%d] %s ... ' "$total" "${#selected[@]}" "$id"
  if ! apply --check "$p" 2>"$logs/$id.apply.log"; then
    echo "NOT APPLIED"
    results+=("$id|$what|NOT APPLIED|$(head -n 1 "$logs/$id.apply.log")")
    continue
  fi
  mapfile -t touched < <(apply --numstat "$p" | cut -f3)
  rm -rf "$work/orig" && mkdir -p "$work/orig"
  for f in "${touched[@]}"; do
    mkdir -p "$(dirname "$work/orig/$f")"
    cp "$tree/$f" "$work/orig/$f"
  done
  apply "$p"
  mapfile -t its_labels < <(header "$p" test | cut -d' ' -f1 | awk '!seen[$0]++')
  outcome=""
  by=""
  if ! build_for "$logs/$id.build.log" "${its_labels[@]}"; then
    outcome="NO BUILD"
    by=$(grep -m1 -E 'error' "$logs/$id.build.log" | cut -c1-100)
  else
    n=0
    while IFS= read -r l; do
      n=$((n + 1))
      lab=${l%% *}
      filter=""
      [[ $l == *" "* ]] && filter=${l#* }
      rc=0
      run_line "$logs/$id.test-$n.log" "$lab" "$filter" || rc=$?
      if [ "$rc" != 0 ]; then
        outcome="killed"
        by=$(failures "$logs/$id.test-$n.log" "$lab" "$rc")
        break
      fi
    done < <(header "$p" test)
    [ -n "$outcome" ] || outcome="SURVIVED"
  fi
  # Back to the unmutated content (a new mtime: the next build compiles it again).
  for f in "${touched[@]}"; do cp "$work/orig/$f" "$tree/$f"; done
  echo "$outcome${by:+ ($by)}"
  [ "$outcome" = killed ] && killed=$((killed + 1))
  results+=("$id|$what|$outcome|$by")
done

# --------------------------------------------------------------------------------- table
w_id=6
w_what=15
for r in "${results[@]}"; do
  IFS='|' read -r id what _ <<<"$r"
  [ "${#id}" -le "$w_id" ] || w_id=${#id}
  [ "${#what}" -le "$w_what" ] || w_what=${#what}
done
{
  printf "%-${w_id}s | %-${w_what}s | %-11s | %s\n" "mutant" "what it changes" "result" "killed by"
  printf '%s\n' "$(printf '%*s' $((w_id + w_what + 60)) '' | tr ' ' -)"
  for r in "${results[@]}"; do
    IFS='|' read -r id what outcome by <<<"$r"
    printf "%-${w_id}s | %-${w_what}s | %-11s | %s\n" "$id" "$what" "$outcome" "$by"
  done
  echo
  echo "$killed of $total mutants killed"
} | tee "$work/report.txt"
echo "mutants: logs in $logs"
[ "$killed" = "$total" ]
