#!/bin/bash
# End-to-end tests of zagent run and the container lifecycle over runc:
# exit codes, output pass-through, signal forwarding, detach/ps/stop/rm,
# cleanup after every failure, OCI image layouts, and the zagent-runtime
# shim under podman.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHIM=$(dirname "$ZAGENT")/zagent-runtime
SHARED=${SHARED:-$(realpath "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-run.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/runc
. "$here/lib.sh"
cleanup () {
  for c in $(runc --root "$RTROOT" list -q 2>/dev/null); do runc --root "$RTROOT" delete -f "$c" >/dev/null 2>&1; done
  rm -f /var/run/cdi/zagent-e2e-$$.yaml
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "zagent run" "needs root and runc"; finish; exit
fi
"$root/scripts/mkrootfs.sh" "$WORK/rootfs"
R=$WORK/rootfs
no_leftovers () { # no_leftovers ID: nothing of the container remains
  local id=$1
  [ -z "$(runc --root "$RTROOT" list -q 2>/dev/null | grep -x "$id")" ] || { echo "runtime still has $id"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/bundles/$id" ] || { echo "bundle left"; return 1; }
  [ ! -e "$ZLAYER_DATA_DIR/run/containers/$id" ] || { echo "state left"; return 1; }
  ! ls -d /sys/fs/cgroup/*/zlayer/"$id" /sys/fs/cgroup/unified/zlayer/"$id" >/dev/null 2>&1 || { echo "cgroup left"; return 1; }
}
spec () { # spec FILE NAME SCRIPT [extra yaml lines]
  { printf 'version: v1\ndeployment: runtest\nservices:\n  %s:\n    image: {name: busybox}\n' "$2"
    printf '    command:\n      entrypoint: ["/bin/sh", "-c", %s]\n' "$(printf '%s' "$3" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
    [ $# -gt 3 ] && printf '%s\n' "$4"; } > "$1"
}

# ---- exit codes and output ---------------------------------------------
spec "$WORK/a.yaml" app 'echo out-line; echo err-line >&2; exit ${CODE:-0}'
"$ZAGENT" run -f "$WORK/a.yaml" --rootfs "$R" >"$WORK/o" 2>"$WORK/e"; rc=$?
check "run exits 0 when the container does" test $rc = 0
check "container stdout passes through" grep -qx out-line "$WORK/o"
check "container stderr passes through" grep -qx err-line "$WORK/e"
check "stdout and stderr stay apart" bash -c "! grep -q err-line '$WORK/o'"
check "nothing left after a clean run" no_leftovers app-rep-1
"$ZAGENT" run -f "$WORK/a.yaml" --rootfs "$R" --env CODE=7 >/dev/null 2>&1; rc=$?
check "run exits with the container's status (7)" test $rc = 7
spec "$WORK/s.yaml" sl 'echo started; exec sleep 100'
"$ZAGENT" run -f "$WORK/s.yaml" --rootfs "$R" >"$WORK/o" 2>&1 & zp=$!
for i in $(seq 50); do runc --root "$RTROOT" list -q 2>/dev/null | grep -qx sl-rep-1 && grep -q started "$WORK/o" && break; sleep 0.1; done
runc --root "$RTROOT" kill sl-rep-1 KILL
wait $zp; rc=$?
check "run exits 137 when the container is SIGKILLed" test $rc = 137
check "nothing left after a killed container" no_leftovers sl-rep-1

# ---- signal forwarding --------------------------------------------------
spec "$WORK/t.yaml" trapper 'trap "echo got-TERM; exit 3" TERM; trap "echo got-INT; exit 4" INT; trap "echo got-HUP; exit 5" HUP; echo ready; while :; do sleep 0.05; done'
for sig in TERM INT HUP; do
  "$ZAGENT" run -f "$WORK/t.yaml" --rootfs "$R" >"$WORK/o" 2>&1 & zp=$!
  for i in $(seq 100); do grep -q ready "$WORK/o" && break; sleep 0.05; done
  kill -$sig $zp; wait $zp; rc=$?
  case $sig in TERM) want=3 ;; INT) want=4 ;; HUP) want=5 ;; esac
  check "SIG$sig is forwarded to the container" grep -qx "got-$sig" "$WORK/o"
  check "exit status after SIG$sig is the container's ($want)" test $rc = $want
done
check "nothing left after signals" no_leftovers trapper-rep-1

# ---- detach, ps, state, stop, rm ---------------------------------------
spec "$WORK/d.yaml" daemon 'trap "" TERM; echo daemon-up; while :; do sleep 0.1; done' '    stop_grace_period: 1s'
run "$ZAGENT" run -d -f "$WORK/d.yaml" --rootfs "$R"
expect_rc "run --detach exits 0" 0
check "run --detach prints the id" test "$out" = daemon-rep-1
run "$ZAGENT" ps
check "ps lists the detached container as running" grep -qE '^daemon-rep-1 +running' <<<"$out"
run "$ZAGENT" ps --json
check "ps --json" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d[0]["id"]=="daemon-rep-1" and d[0]["status"]=="running"' "$out"
run "$ZAGENT" state daemon-rep-1
check "state shows the runtime state" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["status"]=="running" and d["runtimeState"]["id"]=="daemon-rep-1"' "$out"
run "$ZAGENT" run -d -f "$WORK/d.yaml" --rootfs "$R"
expect_rc "a second run with the same id is refused (exit 125)" 125
run "$ZAGENT" rm daemon-rep-1
expect_rc "rm of a running container without -f exits 2" 2
check "detached output goes to the bundle's log" grep -q daemon-up "$ZLAYER_DATA_DIR/bundles/daemon-rep-1/logs/stdout.log"
t0=$(date +%s%N)
run "$ZAGENT" stop daemon-rep-1
t1=$(date +%s%N)
expect_rc "stop exits 0" 0
ms=$(( (t1 - t0) / 1000000 ))
check "stop waited the 1s grace period, then SIGKILL ($ms ms)" test $ms -ge 900 -a $ms -lt 8000
run "$ZAGENT" ps
check "ps shows it stopped" grep -qE '^daemon-rep-1 +stopped' <<<"$out"
run "$ZAGENT" rm daemon-rep-1; expect_rc "rm exits 0" 0
check "nothing left after rm" no_leftovers daemon-rep-1
"$ZAGENT" run -d -f "$WORK/d.yaml" --rootfs "$R" >/dev/null
run "$ZAGENT" stop --time 200ms daemon-rep-1; expect_rc "stop --time" 0
"$ZAGENT" run -d -f "$WORK/s.yaml" --rootfs "$R" >/dev/null 2>&1
run "$ZAGENT" rm -f sl-rep-1; expect_rc "rm -f of a running container" 0
check "nothing left after rm -f" no_leftovers sl-rep-1
run "$ZAGENT" rm daemon-rep-1; expect_rc "rm after stop --time" 0
# stale state: the runtime forgets the container behind zagent's back
"$ZAGENT" run -d -f "$WORK/s.yaml" --rootfs "$R" >/dev/null 2>&1
runc --root "$RTROOT" delete -f sl-rep-1
run "$ZAGENT" ps
check "ps detects and clears stale state" grep -q "cleared stale state" <<<"$err"
check "stale record gone" no_leftovers sl-rep-1
"$ZAGENT" run -f "$WORK/a.yaml" --rootfs "$R" --keep >/dev/null 2>&1
check "--keep keeps the bundle" test -f "$ZLAYER_DATA_DIR/bundles/app-rep-1/config.json"
"$ZAGENT" cleanup -b "$ZLAYER_DATA_DIR/bundles/app-rep-1"

# ---- failures clean up everything ----------------------------------------
spec "$WORK/f.yaml" broken 'true'
sed -i 's|"/bin/sh", "-c", "true"|"/nonexistent"|' "$WORK/f.yaml"
run "$ZAGENT" run -f "$WORK/f.yaml" --rootfs "$R"
check "runtime refusal is a failure" test $rc != 0
check "the runtime's own error text is reported" grep -q 'exec: "/nonexistent"' <<<"$err"
check "nothing left after a refused container" no_leftovers broken-rep-1
printf 'version: v1\ndeployment: runtest\nservices:\n  x:\n    image: {name: busybox}\n    resources: {cpu: "2"}\n' > "$WORK/bad.yaml"
run "$ZAGENT" run -f "$WORK/bad.yaml" --rootfs "$R"
expect_rc "bad spec exits 125 (zagent run's own error)" 125
check "nothing left after a bad spec" no_leftovers x-rep-1
run "$ZAGENT" run -f "$WORK/a.yaml" --pull never
expect_rc "run of the spec's image, not stored, with --pull never exits 125" 125
run "$ZAGENT" run -f "$WORK/a.yaml" --rootfs "$R" --runtime no-such-runtime
expect_rc "unknown runtime exits 125" 125

# ---- OCI image layouts -----------------------------------------------------
ENV='["PATH=/bin", "FROM_IMAGE=yes"]' ENTRYPOINT='["/bin/sh", "-c", "echo image-ok $FROM_IMAGE; id -u; ls /etc/old.txt 2>&1 | head -1"]' USER_=app \
  python3 "$here/mklayout.py" "$WORK/layout" "$R" v1 --split >/dev/null
printf 'version: v1\ndeployment: runtest\nservices:\n  img:\n    image: {name: busybox}\n' > "$WORK/img.yaml"
run "$ZAGENT" run -f "$WORK/img.yaml" --image "$WORK/layout:v1"
expect_rc "run --image DIR:TAG exits 0" 0
check "image entrypoint and env used" grep -qx "image-ok yes" <<<"$out"
check "image user resolved (app = 1000)" grep -qx 1000 <<<"$out"
check "whiteout removed a lower-layer file" grep -q "No such file" <<<"$out"
check "rootfs cached by manifest digest" test "$(ls "$ZLAYER_DATA_DIR/rootfs" | grep -vc '^\.')" = 1
run "$ZAGENT" run -f "$WORK/img.yaml" --image "$WORK/layout:v2"
expect_rc "unknown tag exits 125" 125
cp -r "$WORK/layout" "$WORK/bad-layout"
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+m))["layers"][0]["digest"][7:])' "$WORK/bad-layout")
printf 'X' | dd of="$WORK/bad-layout/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc 2>/dev/null
rm -rf "$ZLAYER_DATA_DIR/rootfs"
run "$ZAGENT" run -f "$WORK/img.yaml" --image "$WORK/bad-layout:v1"
expect_rc "corrupt layout exits 125" 125
check "corrupt blob is named" grep -q "$layer" <<<"$err"
check "no half-unpacked rootfs left" test -z "$(ls -A "$ZLAYER_DATA_DIR/rootfs" 2>/dev/null)"
check "nothing left after a corrupt image" no_leftovers img-rep-1

# ---- crun, when this host lets it run --------------------------------------
if command -v crun >/dev/null && command -v unshare >/dev/null; then
  out=$(unshare -m sh -c "umount /sys/fs/cgroup/unified 2>/dev/null; '$ZAGENT' run -f '$WORK/a.yaml' --rootfs '$R' --runtime crun" 2>&1); rc=$?
  if [ $rc = 0 ] && grep -qx out-line <<<"$out"; then ok "run with crun"
  else skip "run with crun" "crun refused on this host: $(echo "$out" | tail -1)"; fi
else
  skip "run with crun" "crun not installed"
fi

# ---- the OCI runtime shim under podman -------------------------------------
if command -v podman >/dev/null && [ -x "$SHIM" ]; then
  mkdir -p /var/run/cdi
  cat > /var/run/cdi/zagent-e2e-$$.yaml <<Y
cdiVersion: "0.5.0"
kind: zagent.e2e/shim$$
devices:
  - name: dev0
    containerEdits:
      env: ["SHIM_DEVICE=dev0"]
      deviceNodes:
        - {path: /dev/shim0, hostPath: /dev/null}
Y
  out=$(cd "$WORK" && timeout 120 podman --runtime "$SHIM" run --rm --network none --ulimit nofile=1024:1024 \
        --ulimit nproc=4096:4096 --annotation "cdi.k8s.io/e2e=zagent.e2e/shim$$=dev0" --rootfs "$R" \
        /bin/sh -c 'echo SHIM_DEVICE=$SHIM_DEVICE; echo x > /dev/shim0 && echo WROTE' 2>&1); rc=$?
  check "podman runs through the zagent-runtime shim" test $rc = 0
  check "the shim injected the CDI env" grep -qx SHIM_DEVICE=dev0 <<<"$out"
  check "the shim injected the CDI device node (writable)" grep -qx WROTE <<<"$out"
  out=$(cd "$WORK" && timeout 120 podman --runtime "$SHIM" run --rm --network none --ulimit nofile=1024:1024 \
        --ulimit nproc=4096:4096 --annotation "cdi.k8s.io/e2e=zagent.e2e/nope=x" --rootfs "$R" /bin/true 2>&1); rc=$?
  check "an unresolvable CDI annotation fails the container" test $rc != 0
  check "the shim names the unresolvable device" grep -q "unresolvable CDI devices zagent.e2e/nope=x" <<<"$out"
else
  skip "podman through the shim" "podman not installed"
fi

finish
