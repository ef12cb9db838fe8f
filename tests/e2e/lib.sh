# TAP helpers for the end-to-end tests (bash).
# ZAGENT: the binary under test; SHARED: ../shared; WORK: a temp dir.
n=0
failed=0
skipped=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done; }
skip () { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - $1 # SKIP $2"; }
check () { # check NAME CONDITION-COMMAND...
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name" "command: $*"; fi
}
# run CMD...: sets $out, $err, $rc
run () {
  out=$("$@" 2>"$WORK/.stderr"); rc=$?
  err=$(cat "$WORK/.stderr")
}
expect_rc () { # expect_rc NAME WANT
  if [ "$rc" = "$2" ]; then ok "$1"; else not_ok "$1" "exit status $rc, want $2" "stderr: $(echo "$err" | head -5)"; fi
}
finish () { echo "1..$n"; [ "$failed" = 0 ]; }
validate () { # validate CONFIG_OR_BUNDLE
  "$SHARED/tools/validate-oci-config" -q "$1"
}
