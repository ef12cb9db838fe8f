#!/bin/bash
# Security of containers and records (runc): no container writes into the
# shared image cache; one id is reserved before anything is created; a
# SIGKILLed run never strands its id; ps/stop/rm never take a runtime that
# failed for another reason for "the container is gone"; every runtime
# call is bounded.  A wrapper runtime (below) misbehaves on demand.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHARED=${SHARED:-$(realpath "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-secrt.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/wrap
. "$root/tests/e2e/lib.sh"
cleanup () {
  for r in "$RTROOT" "$ZLAYER_DATA_DIR/run/runc"; do
    for c in $(runc --root "$r" list -q 2>/dev/null); do runc --root "$r" delete -f "$c" >/dev/null 2>&1; done
  done
  for m in $(awk -v w="$WORK" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "runtime security" "needs root and runc"; finish; exit
fi
"$root/scripts/mkrootfs.sh" "$WORK/rootfs"
python3 "$root/tests/e2e/mklayout.py" "$WORK/layout" "$WORK/rootfs" v1 >/dev/null

# The wrapper: runc, unless $WORK/mode says to misbehave for one verb
# (zagent run uses `run`, or `create` + `start` through the library).
W=$WORK/wrap
cat > "$W" <<EOF
#!/bin/sh
verb=\$7
mode=\$(cat "$WORK/mode" 2>/dev/null)
case "\$mode:\$verb" in
  statekill:state|statekill:delete) kill -9 \$\$ ;;
  hang:state|hang:kill|hangcreate:create|hangcreate:run) exec sleep 7391 ;;
  slowcreate:create|slowcreate:run) sleep 0.5 ;;
  createslow:create|createslow:run) runc "\$@"; r=\$?; sleep 1; exit \$r ;;
  bigstate:state) out=\$(runc "\$@") || exit 1; printf '%s, "pad": "%s"}' "\${out%\}}" "\$(head -c 200000 /dev/zero | tr '\\0' x)"; exit 0 ;;
esac
exec runc "\$@"
EOF
chmod +x "$W"
mode () { echo "$1" > "$WORK/mode"; }

spec () { # spec FILE SERVICE SCRIPT
  printf 'version: v1\ndeployment: sec\nservices:\n  %s:\n    image: {name: busybox}\n    command:\n      entrypoint: ["/bin/sh", "-c", "%s"]\n' "$2" "$3" > "$1"
}
no_leftovers () { # no_leftovers ID
  local id=$1
  [ -z "$(runc --root "$RTROOT" list -q 2>/dev/null | grep -x "$id")" ] || { echo "runtime still has $id"; return 1; }
  [ ! -e "$RTROOT/$id" ] || { echo "runtime state dir left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/bundles/$id" ] || { echo "bundle left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/run/containers/$id" ] || { echo "record left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/containers/$id" ] || { echo "writable layer left"; return 1; }
  ! grep -q " $ZLAYER_DATA_DIR/containers/$id/" /proc/mounts || { echo "overlay still mounted"; return 1; }
}
rstatus () { runc --root "$RTROOT" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }

# ---- 2: the image cache is never a container's rootfs ----------------------
spec "$WORK/w.yaml" w 'rm /bin/wget; echo pwned > /etc/motd; echo done'
run "$ZAGENT" run --runtime "$W" -f "$WORK/w.yaml" --image "$WORK/layout:v1"
check "a container may change its own rootfs" [ "$rc" = 0 -a "$out" = done ]
spec "$WORK/r.yaml" r 'ls /bin/wget && cat /etc/motd 2>/dev/null; true'
run "$ZAGENT" run --runtime "$W" -f "$WORK/r.yaml" --image "$WORK/layout:v1"
if [ "$rc" = 0 ] && [ "$out" = /bin/wget ]; then ok "a later container of the same image sees the image, not the change"
else not_ok "a later container of the same image sees the image, not the change" "rc=$rc out=$out err=$err"; fi
cache=$(ls -d "$ZLAYER_DATA_DIR"/rootfs/*/rootfs | head -1)
check "the cached tree is unchanged" [ -L "$cache/bin/wget" -a ! -e "$cache/etc/motd" ]
bb_sum=$(sha256sum < "$cache/bin/busybox")
spec "$WORK/d.yaml" d 'echo x > /bin/id; echo y > /bin/busybox.new; sleep 100'
run "$ZAGENT" run --runtime "$W" -d -f "$WORK/d.yaml" --image "$WORK/layout:v1"
cfgroot=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["root"]["path"])' "$ZLAYER_DATA_DIR/bundles/d-rep-1/config.json" 2>/dev/null)
case "$cfgroot" in
  "$ZLAYER_DATA_DIR/rootfs/"*) not_ok "a detached container's root is its own layer, not the cache" "root.path=$cfgroot" ;;
  "$ZLAYER_DATA_DIR/containers/d-rep-1/rootfs") ok "a detached container's root is its own layer, not the cache" ;;
  *) not_ok "a detached container's root is its own layer, not the cache" "root.path=$cfgroot rc=$rc err=$err" ;;
esac
sleep 0.3
check "the cache's busybox is untouched (no write through /bin/id)" [ "$(sha256sum < "$cache/bin/busybox")" = "$bb_sum" -a ! -e "$cache/bin/busybox.new" ]
run "$ZAGENT" rm -f d-rep-1
check "rm -f removes the container's layer and unmounts it" no_leftovers d-rep-1

# ---- 9: one id, two runs ---------------------------------------------------
spec "$WORK/s.yaml" s 'sleep 100'
both_ok=0; none_ok=0
# plain runc here: the wrapper's extra shell spreads the two runs apart
for i in 1 2 3 4 5; do
  "$ZAGENT" run --runtime runc -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs" >"$WORK/o1" 2>"$WORK/e1" & p1=$!
  "$ZAGENT" run --runtime runc -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs" >"$WORK/o2" 2>"$WORK/e2" & p2=$!
  wait $p1; r1=$?; wait $p2; r2=$?
  wins=$(( (r1 == 0) + (r2 == 0) ))
  [ $wins = 2 ] && both_ok=$((both_ok + 1))
  [ $wins = 0 ] && none_ok=$((none_ok + 1))
  [ "$(RTROOT=$ZLAYER_DATA_DIR/run/runc rstatus s-rep-1)" = running ] || none_ok=$((none_ok + 1))
  "$ZAGENT" rm -f s-rep-1 >/dev/null 2>&1
done
check "two simultaneous runs of one id: exactly one wins, 5 of 5" [ $both_ok = 0 -a $none_ok = 0 ]
check "nothing left after rm -f" env RTROOT="$ZLAYER_DATA_DIR/run/runc" bash -c "$(declare -f no_leftovers); no_leftovers s-rep-1"

run "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs"
mode slowcreate
run "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs"
mode none
expect_rc "a second run of a running id exits 125" 125
check "... and says it exists" grep -q "already exists" <<<"$err"
check "the first container is still running" [ "$(rstatus s-rep-1)" = running ]
check "its record and bundle are intact" [ -f "$ZLAYER_DATA_DIR/run/containers/s-rep-1/state.json" -a -f "$ZLAYER_DATA_DIR/bundles/s-rep-1/config.json" ]
run "$ZAGENT" rm -f s-rep-1
check "rm -f after the refused run" no_leftovers s-rep-1

# ---- 10: SIGKILL at any point of run never strands the id -------------------
stranded=0; leaked=0
for i in $(seq 1 12); do
  # before the runtime ran, and after it created the container
  if [ $((i % 2)) = 0 ]; then mode slowcreate; else mode createslow; fi
  "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs" >/dev/null 2>&1 & p=$!
  sleep "0.$(( 1 + (i * 7) % 6 ))"
  kill -9 $p 2>/dev/null; wait $p 2>/dev/null
  mode none
  sleep 0.1
  if ! "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs" >/dev/null 2>"$WORK/e"; then
    # a kill after start leaves a running container: rm -f must find it
    "$ZAGENT" rm -f s-rep-1 >/dev/null 2>&1 || { stranded=$((stranded + 1)); cat "$WORK/e" >&2; }
  else
    "$ZAGENT" rm -f s-rep-1 >/dev/null 2>&1 || stranded=$((stranded + 1))
  fi
  no_leftovers s-rep-1 >/dev/null || leaked=$((leaked + 1))
done
check "a run SIGKILLed while creating never strands the id (12 kills)" [ $stranded = 0 ]
check "... and nothing of it is left after rm -f" [ $leaked = 0 ]

mode hangcreate
"$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs" >/dev/null 2>&1 & p=$!
sleep 0.5; kill -9 $p; wait $p 2>/dev/null
pkill -9 -f "sleep 7391" 2>/dev/null
mode none
run "$ZAGENT" ps
check "ps undoes a creation whose creator was killed" grep -q "interrupted creation" <<<"$err"
check "... and nothing of it is left" no_leftovers s-rep-1

# ---- 11: ps never clears a container the runtime could not report -----------
run "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs"
mode statekill
run "$ZAGENT" ps
mode none
check "ps with a runtime killed by a signal keeps the record" [ -f "$ZLAYER_DATA_DIR/run/containers/s-rep-1/state.json" ]
check "... shows the status as unknown" grep -q "s-rep-1 *unknown" <<<"$out"
check "... and does not claim it cleared anything" bash -c '! grep -q "cleared" <<<"$1"' _ "$err"
check "the container is still running" [ "$(rstatus s-rep-1)" = running ]
mode statekill
run "$ZAGENT" rm -f s-rep-1
mode none
check "rm -f with a failing runtime refuses instead of dropping the record" [ "$rc" != 0 -a -f "$ZLAYER_DATA_DIR/run/containers/s-rep-1/state.json" ]

# ---- a state document larger than a pipe buffer (64 KiB) -------------------
spec "$WORK/b.yaml" b 'sleep 100'
run "$ZAGENT" run --runtime "$W" -d -f "$WORK/b.yaml" --rootfs "$WORK/rootfs"
mode bigstate
out=$(timeout 20 "$ZAGENT" state b-rep-1 2>"$WORK/e"); rc=$?
mode none
check "state with a 200 KiB runtime state document neither hangs nor fails" [ $rc = 0 ]
check "... and carries it whole" python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert len(d["runtimeState"]["pad"]) == 200000' <<<"$out"
run "$ZAGENT" rm -f b-rep-1

# ---- 12: every runtime call is bounded ---------------------------------------
mode hang
t0=$(date +%s%N)
ZAGENT_RUNTIME_TIMEOUT=1s timeout 20 "$ZAGENT" ps >/dev/null 2>"$WORK/e"; rc=$?
t1=$(date +%s%N)
check "ps with a hung runtime returns after the timeout ($(( (t1 - t0) / 1000000 )) ms)" [ $rc = 0 -a $(( (t1 - t0) / 1000000 )) -lt 5000 ]
check "... and says the runtime did not answer" grep -q "no answer" "$WORK/e"
ZAGENT_RUNTIME_TIMEOUT=1s timeout 20 "$ZAGENT" stop --time 1s s-rep-1 >/dev/null 2>"$WORK/e"; rc=$?
check "stop with a hung runtime fails instead of hanging" [ $rc = 1 ]
mode none
check "the container survived it" [ "$(rstatus s-rep-1)" = running ]
run "$ZAGENT" rm -f s-rep-1
check "rm -f once the runtime answers again" no_leftovers s-rep-1
pkill -9 -f "sleep 7391" 2>/dev/null

mode hangcreate
t0=$(date +%s%N)
ZAGENT_RUNTIME_TIMEOUT=1s timeout 30 "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs" >/dev/null 2>"$WORK/e"; rc=$?
t1=$(date +%s%N)
mode none
check "run with a hung create fails after the timeout" [ $rc = 125 -a $(( (t1 - t0) / 1000000 )) -lt 10000 ]
check "... naming the runtime" grep -q "no answer" "$WORK/e"
check "... and leaves nothing" no_leftovers s-rep-1
run env ZAGENT_RUNTIME_TIMEOUT=soon "$ZAGENT" run --runtime "$W" -d -f "$WORK/s.yaml" --rootfs "$WORK/rootfs"
expect_rc "an invalid ZAGENT_RUNTIME_TIMEOUT is zagent run's own error (125)" 125
pkill -9 -f "sleep 7391" 2>/dev/null
finish
