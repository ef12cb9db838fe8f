#!/bin/sh
# scripts/fuzz.sh BUILD SECONDS TARGET...  (make fuzz)
# Run each libFuzzer target BUILD/tests/fuzz_<TARGET> for SECONDS on a copy
# of its seed corpus tests/fuzz/corpus/<TARGET> (new inputs stay in
# BUILD/fuzz-work/<TARGET>/corpus; the seeds are not touched).  Crashes,
# leaks, timeouts and out-of-memory inputs are saved as
# tests/fuzz/crashes/<TARGET>-crash-<sha1> (…-leak-, -timeout-, -oom-).
# To keep one as a regression test, copy it into the target's corpus;
# `make check` then replays it.  Exit status 1 when any target failed.
set -u
[ $# -ge 3 ] || { echo "usage: $0 BUILD SECONDS TARGET..." >&2; exit 2; }
build=$1 secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
crashes=$root/tests/fuzz/crashes
mkdir -p "$crashes"
status=0
summary=""
for t in "$@"; do
  bin=$build/tests/fuzz_$t
  work=$build/fuzz-work/$t
  [ -x "$bin" ] || { echo "fuzz: $bin is missing (meson setup with -Dfuzz=true, CC=clang)" >&2; exit 2; }
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp -R "$root/tests/fuzz/corpus/$t/." "$work/corpus/"
  dict=""
  [ -f "$root/tests/fuzz/$t.dict" ] && dict="-dict=$root/tests/fuzz/$t.dict"
  echo "== fuzz $t for ${secs}s ($(ls "$work/corpus" | wc -l) seeds)"
  # shellcheck disable=SC2086
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=32768 \
    -print_final_stats=1 -artifact_prefix="$crashes/$t-" $dict "$work/corpus" >"$work/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  cov=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*/cov \1, ft \2/p')
  line="fuzz $t: ${secs}s, ${execs:-?} executions, ${cov:-no stats}, corpus $(ls "$work/corpus" | wc -l) files"
  if [ $rc -ne 0 ]; then
    status=1
    line="$line: FAILED (exit $rc), see $work/log"
    grep -E 'ERROR: |SUMMARY: |Test unit written to' "$work/log" | head -n 5
  fi
  echo "$line"
  summary="$summary$line
"
done
printf '\n%s' "$summary"
exit $status
