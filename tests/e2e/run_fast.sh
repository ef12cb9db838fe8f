#!/bin/bash
# End-to-end tests of zagent run's one-runtime-process path (issue 15) and
# its exit statuses (issue 10): run uses `RUNTIME run` / `run --detach`
# and rm -f `delete --force`, one runtime process each; the record is
# handed over while a foreground container runs (ps, stop, rm -f act on
# it); a runtime killed under a running container leaves nothing (zagent
# is the subreaper); run exits 125/126/127 as podman, else the
# container's status; the runtime's error is printed once.
#   run_fast.sh ZAGENT [KILLER]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
KILLER=${2:-$(dirname "$ZAGENT")/tests/killer}
SHARED=${SHARED:-$(realpath "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-runfast.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
. "$here/lib.sh"
RTROOT=$ZLAYER_DATA_DIR/run/wrap
cleanup () {
  for r in "$RTROOT" "$ZLAYER_DATA_DIR/run/runc"; do
    for c in $(runc --root "$r" list -q 2>/dev/null); do runc --root "$r" delete -f "$c" >/dev/null 2>&1; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "zagent run (one runtime process)" "needs root and runc"; finish; exit
fi
"$root/scripts/mkrootfs.sh" "$WORK/rootfs"
R=$WORK/rootfs
# A runtime that logs each call's verb and options, then is runc.
W=$WORK/wrap
cat > "$W" <<EOF
#!/bin/sh
# \$1..\$6: --root R --log L --log-format json
echo "\$*" | cut -d' ' -f7- | sed 's/ --bundle.*//; s/ [^ ]*-rep-[0-9]*\$//' >> "$WORK/calls"
exec runc "\$@"
EOF
chmod +x "$W"
calls () { cat "$WORK/calls" 2>/dev/null | tr '\n' ';'; : > "$WORK/calls"; }
no_leftovers () { # no_leftovers ID
  local id=$1
  [ -z "$(runc --root "$RTROOT" list -q 2>/dev/null | grep -x "$id")" ] || { echo "runtime still has $id"; return 1; }
  [ ! -e "$RTROOT/$id" ] || { echo "runtime state dir left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/bundles/$id" ] || { echo "bundle left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/run/containers/$id" ] || { echo "record left"; return 1; }
  ! ls -d /sys/fs/cgroup/*/zlayer/"$id" /sys/fs/cgroup/unified/zlayer/"$id" >/dev/null 2>&1 || { echo "cgroup left"; return 1; }
}
spec () { # spec FILE NAME SCRIPT
  printf 'version: v1\ndeployment: runfast\nservices:\n  %s:\n    image: {name: busybox}\n    command:\n      entrypoint: ["/bin/sh", "-c", %s]\n' \
    "$2" "$(printf '%s' "$3" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')" > "$1"
}
Z () { "$ZAGENT" run --runtime "$W" "$@"; }

# ---- one runtime process per command ---------------------------------------
spec "$WORK/t.yaml" rf 'echo hello'
: > "$WORK/calls"
run Z -f "$WORK/t.yaml" --rootfs "$R"
expect_rc "a foreground run exits 0" 0
check "... its output passes through" test "$out" = hello
check "... with one runtime process: run (was create, start, delete)" test "$(calls)" = "run;"
check "... and nothing is left" no_leftovers rf-rep-1
spec "$WORK/d.yaml" rfd 'echo up; exec sleep 300'
run Z -d -f "$WORK/d.yaml" --rootfs "$R"
expect_rc "run -d exits 0" 0
check "run -d prints the id" test "$out" = rfd-rep-1
check "run -d is one runtime process: run --detach" test "$(calls)" = "run --detach;"
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$ZLAYER_DATA_DIR/run/containers/rfd-rep-1/state.json")
check "the record has the running init's pid ($pid)" test -d "/proc/$pid" -a "$(cat /proc/$pid/comm 2>/dev/null)" = sleep
check "the record is handed over (creating: false)" python3 -c 'import json,sys; assert not json.load(open(sys.argv[1]))["creating"]' "$ZLAYER_DATA_DIR/run/containers/rfd-rep-1/state.json"
run "$ZAGENT" ps
check "ps shows it running" grep -qE '^rfd-rep-1 +running' <<<"$out"
: > "$WORK/calls"
run "$ZAGENT" rm -f rfd-rep-1
expect_rc "rm -f exits 0" 0
check "rm -f is one runtime process: delete --force (was state, kill, state, delete)" test "$(calls)" = "delete --force;"
check "nothing left after rm -f" no_leftovers rfd-rep-1
gone () { [ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
check "the container's init is gone" gone "$pid"

# ---- the record while a foreground container runs ----------------------------
spec "$WORK/f.yaml" rff 'trap "echo got-TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done'
"$ZAGENT" run --runtime "$W" -f "$WORK/f.yaml" --rootfs "$R" >"$WORK/o" 2>"$WORK/e" & zp=$!
for i in $(seq 100); do grep -q ready "$WORK/o" && break; sleep 0.05; done
run "$ZAGENT" ps
check "ps shows a foreground container running (record handed over)" grep -qE '^rff-rep-1 +running' <<<"$out"
run "$ZAGENT" stop --time 5s rff-rep-1
expect_rc "stop acts on a foreground container" 0
wait $zp; rc=$?
check "the foreground run exits with the container's status (3)" test $rc = 3
check "... after its trap ran" grep -qx got-TERM "$WORK/o"
check "nothing left after stop of a foreground run" no_leftovers rff-rep-1
"$ZAGENT" run --runtime "$W" -f "$WORK/f.yaml" --rootfs "$R" >"$WORK/o" 2>"$WORK/e" & zp=$!
for i in $(seq 100); do grep -q ready "$WORK/o" && break; sleep 0.05; done
run "$ZAGENT" rm -f rff-rep-1
expect_rc "rm -f of a foreground container from elsewhere" 0
wait $zp; rc=$?
check "the foreground run then exits 137 (SIGKILL)" test $rc = 137
check "nothing left after rm -f of a foreground run" no_leftovers rff-rep-1

# ---- the runtime dies under a running container: zagent reaps, undoes --------
if [ -x "$KILLER" ]; then
  spec "$WORK/k.yaml" rfk 'echo ready; exec sleep 300'
  ( "$KILLER" reap 3000 -- "$ZAGENT" run --runtime runc -f "$WORK/k.yaml" --rootfs "$R" >"$WORK/o" 2>"$WORK/e"; echo $? > "$WORK/rc" ) &
  for i in $(seq 100); do grep -q ready "$WORK/o" && break; sleep 0.05; done
  zp=$(pgrep -f "^$ZAGENT run --runtime runc -f $WORK/k.yaml" | head -1)
  rp=$(pgrep -P "$zp" runc)
  kill -9 "$rp"
  wait
  check "a killed runtime is zagent's failure (125)" test "$(cat "$WORK/rc")" = 125
  check "... said once" test "$(grep -c 'killed by' "$WORK/e")" = 1
  check "... no process left behind, running or as a zombie" grep -qx "orphans 0" "$WORK/o"
  check "... and nothing left" env RTROOT="$ZLAYER_DATA_DIR/run/runc" bash -c "$(declare -f no_leftovers); no_leftovers rfk-rep-1"
else
  skip "a killed runtime" "needs the killer helper"
fi

# ---- exit statuses (podman's convention) ----------------------------------------
run Z -f "$WORK/t.yaml" --rootfs "$R" -- /nonexistent
expect_rc "a command that is not found: 127" 127
check "the runtime's error is printed once" test "$(grep -c 'nonexistent' <<<"$err")" = 1
check "nothing left after a command not found" no_leftovers rf-rep-1
run Z -f "$WORK/t.yaml" --rootfs "$R" -- /etc/passwd
expect_rc "a command that cannot be executed: 126" 126
check "... printed once" test "$(grep -c 'passwd' <<<"$err")" = 1
run Z -f "$WORK/t.yaml" --rootfs "$R" -- sh -c 'exit 2'
expect_rc "the container's own status (2) is not zagent's" 2
check "... and says nothing" test -z "$err"
Z -f "$WORK/t.yaml" --rootfs "$R" -- sh -c 'exec sleep 30' >/dev/null 2>&1 & zp=$!
for i in $(seq 100); do runc --root "$RTROOT" list -q 2>/dev/null | grep -qx rf-rep-1 && break; sleep 0.05; done
sleep 0.2; runc --root "$RTROOT" kill rf-rep-1 KILL; wait $zp; rc=$?
check "a SIGKILLed container: 128+9" test $rc = 137
run Z -d -f "$WORK/t.yaml" --rootfs "$R" -- /nonexistent
expect_rc "detached, a command not found: 127" 127
check "... zagent says the runtime's error once (its own stderr is the log file)" \
  test "$(grep -c 'nonexistent' <<<"$err")" = 1 -a "$(grep -c '^zagent: .*run failed' <<<"$err")" = 1
check "nothing left after a detached command not found" no_leftovers rf-rep-1
run "$ZAGENT" run --runtime /bin/false -f "$WORK/t.yaml" --rootfs "$R"
expect_rc "a runtime that fails: 125" 125
check "... one line" test "$(wc -l <<<"$err")" = 1
check "nothing left after a failing runtime" env RTROOT="$ZLAYER_DATA_DIR/run/false" bash -c "$(declare -f no_leftovers); no_leftovers rf-rep-1"
run "$ZAGENT" run --runtime no-such-runtime -f "$WORK/t.yaml" --rootfs "$R"
expect_rc "a runtime not found: 125" 125
run "$ZAGENT" run -f "$WORK/t.yaml" --bogus
expect_rc "a usage error of run: 125" 125
run "$ZAGENT" rm --bogus
expect_rc "other commands keep 2 for usage errors" 2
run "$ZAGENT" rm no-such-container
expect_rc "... and for input errors" 2

# ---- a kept bundle with an old pid file -----------------------------------------
run Z -f "$WORK/t.yaml" --rootfs "$R" --keep
printf '1\n' > "$ZLAYER_DATA_DIR/bundles/rf-rep-1/init.pid"
run Z -d -f "$WORK/d.yaml" --rootfs "$R" -b "$ZLAYER_DATA_DIR/bundles/rf-rep-1"
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$ZLAYER_DATA_DIR/run/containers/rfd-rep-1/state.json" 2>/dev/null)
check "a stale pid file in a kept bundle is not taken for the new container's" test "${pid:-1}" != 1
"$ZAGENT" rm -f rfd-rep-1 >/dev/null 2>&1
check "a bundle that was there before run is left in place" test -f "$ZLAYER_DATA_DIR/bundles/rf-rep-1/config.json"
run Z -f "$WORK/t.yaml" --rootfs "$R" -- sh -c 'exit 0'
check "... also by a foreground run into it" test -f "$ZLAYER_DATA_DIR/bundles/rf-rep-1/config.json"
"$ZAGENT" cleanup -b "$ZLAYER_DATA_DIR/bundles/rf-rep-1"

# ---- crun (where it works: cgroup v1 only, in its own mount namespace) -----------
if command -v crun >/dev/null && unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; true' 2>/dev/null; then
  cr () { unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' _ "$ZAGENT" run --runtime crun "$@"; }
  run cr -f "$WORK/t.yaml" --rootfs "$R" -- sh -c 'echo via-crun; exit 4'
  check "crun: the container's output and status (4)" test "$rc" = 4 -a "$out" = via-crun
  run cr -f "$WORK/t.yaml" --rootfs "$R" -- /nonexistent
  expect_rc "crun: a command not found: 127" 127
  check "crun: printed once" test "$(grep -c 'nonexistent' <<<"$err")" = 1
  run cr -f "$WORK/t.yaml" --rootfs "$R" -- /etc/passwd
  expect_rc "crun: a command that cannot be executed: 126" 126
  check "crun: nothing left" env RTROOT="$ZLAYER_DATA_DIR/run/crun" bash -c "$(declare -f no_leftovers); no_leftovers rf-rep-1"
else
  skip "crun" "crun missing or no mount namespace"
fi
finish
