#!/bin/bash
# Rootless: `zagent run` as an unprivileged user (uid 65534, nobody) under
# runc, with only its own id mapped and with a /etc/subuid + /etc/subgid
# range (newuidmap/newgidmap), and the data and run dirs it picks: ~/.zlayer
# when $HOME is writable, else $XDG_DATA_HOME / $XDG_RUNTIME_DIR, else a
# private ${TMPDIR:-/tmp}/zlayer-<uid> (never one someone else made).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHARED=${SHARED:-$(realpath "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-rootless.XXXXXX)
. "$here/lib.sh"
U=65534
SUBLINE="nobody:2100000000:65536"
cleanup () {
  for d in "$WORK"/*/run/runc "$WORK"/*/zlayer/runc "$WORK"/*/zlayer-$U/run/runc; do
    [ -d "$d" ] || continue
    for c in $(runc --root "$d" list -q 2>/dev/null); do runc --root "$d" delete -f "$c" >/dev/null 2>&1; done
  done
  # only the lines this test added, under the lock shadow's tools use
  if [ -n "${added_subids:-}" ]; then
    for f in /etc/subuid /etc/subgid; do
      flock "$f" sed -i "\\|^$SUBLINE\$|d" "$f"
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null || ! command -v setpriv >/dev/null; then
  skip "rootless run" "needs root (to drop to uid $U), runc and setpriv"; finish; exit
fi
if ! setpriv --reuid=$U --regid=$U --clear-groups unshare -U true 2>/dev/null; then
  skip "rootless run" "this host does not let uid $U create a user namespace"; finish; exit
fi
chmod 755 "$WORK"
# The binary where uid 65534 can reach it (the build dir may not be).
install -m 755 "$ZAGENT" "$WORK/zagent"
"$root/scripts/mkrootfs.sh" "$WORK/rootfs"
chown -R $U:$U "$WORK/rootfs" # a rootless user runs its own rootfs
mkdir -p "$WORK/home" "$WORK/xdata" "$WORK/xrun" "$WORK/tmp"
chown $U:$U "$WORK/home" "$WORK/xdata" "$WORK/xrun" "$WORK/tmp"
chmod 700 "$WORK/xrun"
cat >"$WORK/c.yaml" <<'Y'
version: v1
deployment: rootless
services:
  rl:
    image: {name: busybox}
    command:
      entrypoint: ["/bin/sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map; grep ' /dev/pts ' /proc/self/mounts; touch /tmp/w && echo wrote"]
    resources: {cpu: 0.5, memory: 64Mi}
Y
# as USER ENV... -- ARGS: run the copied zagent as uid 65534 with a clean env
as_nobody () {
  local envs=() ; while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  (cd "$WORK" && setpriv --reuid=$U --regid=$U --clear-groups \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin USER=nobody "${envs[@]}" \
    "$WORK/zagent" "$@")
}
uidmap_lines () { grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+$' <<<"$1"; }

# ---- the config a rootless user gets --------------------------------------
run as_nobody HOME=/nonexistent XDG_DATA_HOME="$WORK/xdata" XDG_RUNTIME_DIR="$WORK/xrun" -- \
  spec -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
expect_rc "spec as uid $U exits 0" 0
printf '%s' "$out" >"$WORK/config.json"
check "rootless config is valid OCI" validate "$WORK/config.json"
check "one uid and one gid mapping: uid $U -> 0, no sub-ids" python3 - "$WORK/config.json" <<PY
import json, sys
c = json.load(open(sys.argv[1]))["linux"]
assert c["uidMappings"] == [{"hostID": $U, "containerID": 0, "size": 1}], c["uidMappings"]
assert c["gidMappings"] == [{"hostID": $U, "containerID": 0, "size": 1}], c["gidMappings"]
PY
check "/dev/pts without gid= when gid 5 is unmapped" python3 - "$WORK/config.json" <<'PY'
import json, sys
m = [m for m in json.load(open(sys.argv[1]))["mounts"] if m["destination"] == "/dev/pts"][0]
assert not [o for o in m["options"] if o.startswith(("gid=", "uid="))], m
PY
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || [ ! -w "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)" ]; then
  check "no delegated cgroup: no cgroupsPath, no limits" python3 - "$WORK/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["linux"]
assert "cgroupsPath" not in c and set(c["resources"]) <= {"devices"}, c
PY
  check "the dropped limits are a warning" grep -q "resource limits of container rl-rep-1 are not applied" <<<"$err"
fi

# ---- run: one id, XDG dirs (HOME not writable) ----------------------------
run as_nobody HOME=/nonexistent XDG_DATA_HOME="$WORK/xdata" XDG_RUNTIME_DIR="$WORK/xrun" -- \
  run -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
expect_rc "run as uid $U (HOME=/nonexistent) exits 0" 0
check "the container runs as its root" grep -q '^uid=0(root) gid=0(root)' <<<"$out"
check "exactly one id mapped" test "$(uidmap_lines "$out")" = 2
check "the container writes into its rootfs" grep -qx wrote <<<"$out"
check "the run dir is \$XDG_RUNTIME_DIR/zlayer" test -d "$WORK/xrun/zlayer/runc" -a -d "$WORK/xrun/zlayer/containers"
check "nothing under the unwritable HOME's default" test ! -e /nonexistent/.zlayer
check "no record, no runtime state left" test -z "$(ls -A "$WORK/xrun/zlayer/containers")" -a -z "$(runc --root "$WORK/xrun/zlayer/runc" list -q)"
run as_nobody HOME=/nonexistent XDG_DATA_HOME="$WORK/xdata" XDG_RUNTIME_DIR="$WORK/xrun" -- \
  bundle -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
check "bundle goes under \$XDG_DATA_HOME/zlayer" test "$out" = "$WORK/xdata/zlayer/bundles/rl-rep-1"
check "... owned by uid $U" test "$(stat -c %u "$WORK/xdata/zlayer/bundles/rl-rep-1")" = $U

# ---- detach, ps, stop (SIGKILL after the grace period), rm ---------------
XR=(HOME=/nonexistent XDG_DATA_HOME="$WORK/xdata" XDG_RUNTIME_DIR="$WORK/xrun")
run as_nobody "${XR[@]}" -- run -d -f "$WORK/c.yaml" --rootfs "$WORK/rootfs" -- /bin/sh -c 'exec sleep 60'
expect_rc "run --detach as uid $U exits 0" 0
run as_nobody "${XR[@]}" -- ps
check "ps lists it as running" grep -qE '^rl-rep-1 +running' <<<"$out"
run as_nobody "${XR[@]}" -- stop --time 1s rl-rep-1
expect_rc "stop kills it (init ignores SIGTERM; no cgroup for kill --all)" 0
run as_nobody "${XR[@]}" -- rm rl-rep-1
expect_rc "rm removes it" 0
check "nothing left in the runtime" test -z "$(runc --root "$WORK/xrun/zlayer/runc" list -q)"

# ---- an OCI image layout (unpacked and copied, no mount, as uid 65534) ---
python3 "$here/mklayout.py" "$WORK/layout" "$WORK/rootfs" v1 >/dev/null && chmod -R a+rX "$WORK/layout"
run as_nobody HOME=/nonexistent XDG_DATA_HOME="$WORK/xdata" XDG_RUNTIME_DIR="$WORK/xrun" -- \
  run -f "$WORK/c.yaml" --image "$WORK/layout:v1"
expect_rc "run --image as uid $U exits 0" 0
check "... the container ran from the image" grep -qx wrote <<<"$out"
check "... no warning but the dropped limits" test -z "$(grep -v 'resource limits of container' <<<"$err")"
check "... its writable layer is removed" test -z "$(ls -A "$WORK/xdata/zlayer/containers" 2>/dev/null)"
check "... the image cache is the user's" test "$(stat -c %u "$WORK/xdata/zlayer/rootfs")" = $U

# ---- a writable HOME: ~/.zlayer (the seed), run dir under it without XDG ---
run as_nobody HOME="$WORK/home" -- run -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
expect_rc "run with a writable HOME exits 0" 0
check "data and run dir under ~/.zlayer" test -d "$WORK/home/.zlayer/run/runc"

# ---- neither: a private TMPDIR/zlayer-<uid>, never someone else's ---------
run as_nobody HOME=/nonexistent TMPDIR="$WORK/tmp" -- run -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
expect_rc "run without HOME or XDG dirs exits 0" 0
check "falls back to TMPDIR/zlayer-$U, mode 0700" test "$(stat -c %a:%u "$WORK/tmp/zlayer-$U" 2>&1)" = "700:$U"
mkdir -p "$WORK/evil/zlayer-$U" && chmod 1777 "$WORK/evil" "$WORK/evil/zlayer-$U"
run as_nobody HOME=/nonexistent TMPDIR="$WORK/evil" -- run -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
check "a TMPDIR/zlayer-$U made by another user is refused" test "$rc" != 0
check "... and nothing is written into it" test -z "$(ls -A "$WORK/evil/zlayer-$U")"

# ---- /etc/subuid + /etc/subgid ranges (newuidmap / newgidmap) -------------
if ! command -v newuidmap >/dev/null || ! command -v newgidmap >/dev/null; then
  skip "rootless run with sub-ids" "newuidmap/newgidmap missing (Debian package uidmap)"
elif grep -q '^nobody:' /etc/subuid /etc/subgid 2>/dev/null; then
  skip "rootless run with sub-ids" "nobody already has sub-ids on this host"
else
  added_subids=1
  for f in /etc/subuid /etc/subgid; do flock "$f" sh -c "echo '$SUBLINE' >>'$f'"; done
  run as_nobody HOME=/nonexistent XDG_DATA_HOME="$WORK/xdata" XDG_RUNTIME_DIR="$WORK/xrun" -- \
    run -f "$WORK/c.yaml" --rootfs "$WORK/rootfs"
  expect_rc "run as uid $U with sub-ids exits 0" 0
  check "uid and gid maps: own id + the sub-id range" \
    test "$(grep -cE '^ +1 +2100000000 +65536$' <<<"$out")" = 2 -a "$(uidmap_lines "$out")" = 4
  check "/dev/pts keeps gid=5 (tty) once gid 5 is mapped" grep -q 'gid=2100000004' <<<"$out"
  check "the container still runs as its root" grep -q '^uid=0(root)' <<<"$out"
fi
finish
