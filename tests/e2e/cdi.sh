#!/bin/bash
# End-to-end tests of CDI: the `zagent cdi` subcommands (exit codes,
# output, atomic injection into a bundle), and CDI devices reaching a
# container run with runc (--device, a service `devices:` entry and
# resources.gpu through a fake nvidia.com/gpu spec).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHARED=${SHARED:-$(realpath "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-e2e-cdi.XXXXXX)
trap 'for c in $(runc list -q 2>/dev/null | grep "^zc-$$-"); do runc delete -f "$c" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
. "$here/lib.sh"
SAMPLES=$SHARED/tools/cdi-oracle/samples
json () { # json FILE PYTHON-EXPR (with `c` the parsed file): prints the value
  python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
jsonin () { # jsonin PYTHON-EXPR (with `c` parsed from $out)
  python3 -c 'import json, sys; c = json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$out"
}

# ---- fixtures ---------------------------------------------------------------
mkdir -p "$WORK/cdi" "$WORK/bad" "$WORK/share" "$WORK/dev"
echo "hello from the cdi mount" > "$WORK/share/hello.txt"
cat > "$WORK/cdi/fake.yaml" <<Y
cdiVersion: "0.5.0"
kind: example.com/fakegpu
containerEdits:
  env: [FAKE_GLOBAL=1]
  mounts:
  - {hostPath: $WORK/share, containerPath: /opt/share, options: [ro, rbind]}
devices:
- name: gpu0
  containerEdits:
    env: [FAKEGPU=0]
    deviceNodes:
    - {path: /dev/fakegpu0, hostPath: $WORK/dev/fakegpu0}
- name: gpu1
  containerEdits:
    env: [FAKEGPU=1]
    deviceNodes:
    - {path: /dev/fakegpu1, type: c, major: 1, minor: 5, permissions: rw}
Y
cp "$SAMPLES/gpu/example-gpu.yaml" "$WORK/cdi/example-gpu.yaml"
cat > "$WORK/bad/broken.yaml" <<'Y'
cdiVersion: "0.3.0"
kind: example.com/broken
devices:
- name: nothing
Y
cat > "$WORK/bad/wrong.json" <<'Y'
{"cdiVersion": "0.3.0", "kind": "example.com/wrong",
 "devices": [{"name": "x", "containerEdits": {"env": ["=bad"]}}]}
Y
cp "$WORK/cdi/fake.yaml" "$WORK/bad/fake-copy.yaml"

# ---- zagent cdi ---------------------------------------------------------------
run "$ZAGENT" cdi; expect_rc "cdi without a command exits 2" 2
run "$ZAGENT" cdi --help; expect_rc "cdi --help exits 0" 0
check "cdi --help lists the commands" grep -q "inject" <<<"$out"
run "$ZAGENT" cdi frobnicate; expect_rc "unknown cdi command exits 2" 2

# validate
run "$ZAGENT" cdi validate "$WORK/cdi/fake.yaml" "$SAMPLES/gpu/example-gpu.yaml"
expect_rc "validate valid files exits 0" 0
check "validate prints one line per valid file" test "$(grep -c ': valid (cdiVersion ' <<<"$out")" = 2
check "validate names version, kind and device count" \
  grep -qx "$WORK/cdi/fake.yaml: valid (cdiVersion 0.5.0, kind example.com/fakegpu, 2 devices)" <<<"$out"
run "$ZAGENT" cdi validate "$WORK/bad/broken.yaml"
expect_rc "validate an invalid file exits 2" 2
check "validate error is FILE:LINE:COL: message" \
  grep -qx "$WORK/bad/broken.yaml:4:9: failed add device \"nothing\": invalid device, empty device edits" <<<"$err"
run "$ZAGENT" cdi validate "$WORK/cdi/fake.yaml" "$WORK/bad/wrong.json" "$WORK/bad/broken.yaml"
expect_rc "validate with one bad file among good ones exits 2" 2
check "the good file is still reported valid" grep -q "fake.yaml: valid" <<<"$out"
check "every error line carries FILE:LINE:COL" \
  test "$(grep -cE "^$WORK/bad/(wrong.json|broken.yaml):[0-9]+:[0-9]+: " <<<"$err")" = 2
n_invalid=0; n_bad_pos=0
for f in "$SAMPLES"/invalid/*; do
  run "$ZAGENT" cdi validate "$f"
  [ "$rc" = 2 ] || continue
  n_invalid=$((n_invalid + 1))
  grep -qvE "^$f:[0-9]+:[0-9]+: " <<<"$err" && n_bad_pos=$((n_bad_pos + 1))
done
check "oracle invalid samples: every error line has FILE:LINE:COL ($n_invalid rejected)" test "$n_bad_pos" = 0 -a "$n_invalid" -ge 10
run "$ZAGENT" cdi validate "$WORK/missing.yaml"; expect_rc "validate a missing file exits 2" 2
run "$ZAGENT" cdi validate; expect_rc "validate without FILE exits 2" 2

# list
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi"
expect_rc "list exits 0" 0
check "list prints every device, sorted" test "$(echo $out)" = \
  "example.com/fakegpu=gpu0 example.com/fakegpu=gpu1 example.com/gpu=0 example.com/gpu=1 example.com/gpu=all"
check "list is quiet on stderr without broken files" test -z "$err"
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi" --cdi-dir "$WORK/bad"
expect_rc "list with broken files exits 2 (a CDI spec is input), still listing the good ones" 2
check "a broken file contributes nothing" bash -c '! grep -q "broken\|wrong" <<<"$1"' _ "$out"
check "broken files are reported on stderr with FILE:LINE:COL (errors: they set the exit status)" \
  grep -q "^$WORK/bad/broken.yaml:4:9: failed add device" <<<"$err"
check "the copy in the later directory wins (no conflict)" bash -c '! grep -q conflict <<<"$1"' _ "$err"
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi" --cdi-dir "$WORK/bad" --json
expect_rc "list --json with broken files exits 2" 2
check "list --json: dirs in order" test "$(jsonin 'c["dirs"]')" = "['$WORK/cdi', '$WORK/bad']"
check "list --json: devices with spec and priority" \
  test "$(jsonin '[(d["name"], d["spec"].split("/")[-1], d["priority"]) for d in c["devices"]][:2]')" = \
  "[('example.com/fakegpu=gpu0', 'fake-copy.yaml', 1), ('example.com/fakegpu=gpu1', 'fake-copy.yaml', 1)]"
check "list --json: errors with file, line, column, message" \
  test "$(jsonin 'sorted((e["file"].split("/")[-1], e["line"], e["column"], e["message"]) for e in c["errors"])')" = \
  "[('broken.yaml', 4, 9, 'failed add device \"nothing\": invalid device, empty device edits'), ('wrong.json', 2, 55, 'failed add device \"x\": invalid environment variable \"=bad\"')]"
run "$ZAGENT" cdi list --cdi-dir "$SAMPLES/conflict/etc-cdi" --cdi-dir "$SAMPLES/conflict/run-cdi"
check "conflicting devices are dropped, even where a later dir defines them" test "$(echo $out)" = \
  "example.com/nic=eth0 example.com/nic=extra example.com/nic=only-here"
check "conflicts are warned about" grep -q 'conflicting device "example.com/nic=shared"' <<<"$err"
CDI_SPEC_DIRS="$WORK/bad:$WORK/cdi" run "$ZAGENT" cdi list --json
check "\$CDI_SPEC_DIRS is used without --cdi-dir" test "$(jsonin 'c["dirs"]')" = "['$WORK/bad', '$WORK/cdi']"
run "$ZAGENT" cdi list --bogus; expect_rc "list with an unknown option exits 2" 2

# resolve
run "$ZAGENT" cdi resolve --cdi-dir "$WORK/cdi" example.com/fakegpu=gpu1 example.com/fakegpu=gpu0
expect_rc "resolve exits 0" 0
check "resolve: spec-level edits once, then each device, in request order" \
  test "$(jsonin 'c["env"]')" = "['FAKE_GLOBAL=1', 'FAKEGPU=1', 'FAKEGPU=0']"
check "resolve: device nodes and mounts" \
  test "$(jsonin '[n["path"] for n in c["deviceNodes"]] + [m["containerPath"] for m in c["mounts"]]')" = \
  "['/dev/fakegpu1', '/dev/fakegpu0', '/opt/share']"
run "$ZAGENT" cdi resolve --cdi-dir "$WORK/cdi" example.com/fakegpu=gpu0 example.com/fakegpu=nope example.com/x=y
expect_rc "resolve of unknown devices exits 2" 2
check "resolve names every unresolvable device" \
  grep -q "unresolvable CDI devices example.com/fakegpu=nope, example.com/x=y" <<<"$err"
run "$ZAGENT" cdi resolve --cdi-dir "$WORK/cdi" /dev/null
expect_rc "resolve of a path (not a CDI name) exits 2" 2
check "the error says what a qualified name is" grep -q "not a qualified device name (vendor/class=name)" <<<"$err"
run "$ZAGENT" cdi resolve --cdi-dir "$WORK/cdi"; expect_rc "resolve without NAME exits 2" 2

# inject
B=$WORK/bundle
mkdir -p "$B/rootfs"
cp "$SAMPLES/base-config.json" "$B/config.json"; chmod 0644 "$B/config.json"
cp "$B/config.json" "$WORK/before.json"
ino=$(stat -c %i "$B/config.json")
run "$ZAGENT" cdi inject -b "$B" --cdi-dir "$WORK/cdi" example.com/gpu=0 example.com/gpu=1
expect_rc "inject exits 0" 0
check "inject: config.json keeps its mode (0644), as the shim does" test "$(stat -c %a "$B/config.json")" = 644
check "inject: config.json replaced by rename (new inode)" test "$(stat -c %i "$B/config.json")" != "$ino"
check "inject: no temp files left" test "$(ls -A "$B" | tr '\n' ' ')" = "config.json rootfs "
check "inject: devices added" test "$(json "$B/config.json" '[d["path"] for d in c["linux"]["devices"]]')" = \
  "['/dev/examplectl', '/dev/example0', '/dev/dri/renderD128', '/dev/example1']"
check "inject: pre-existing EXAMPLE_VISIBLE_DEVICES=all kept, CDI value appended once" \
  test "$(json "$B/config.json" '[e for e in c["process"]["env"] if e.startswith("EXAMPLE_VISIBLE")]')" = \
  "['EXAMPLE_VISIBLE_DEVICES=all', 'EXAMPLE_VISIBLE_DEVICES=1']"
check "inject: hooks added" test "$(json "$B/config.json" 'sorted(c["hooks"])')" = \
  "['createContainer', 'poststop', 'startContainer']"
if [ -x "$SHARED/tools/validate-oci-config" ]; then
  check "inject: the result is a valid OCI config" validate "$B"
fi
cp "$B/config.json" "$WORK/after.json"
run "$ZAGENT" cdi inject -b "$B" --cdi-dir "$WORK/cdi" example.com/gpu=0 example.com/gpu=nope
expect_rc "inject of an unresolvable name exits 2" 2
check "unresolvable: message names the device" grep -q "unresolvable CDI devices example.com/gpu=nope" <<<"$err"
check "unresolvable: bundle unchanged" cmp -s "$B/config.json" "$WORK/after.json"
mkdir -p "$WORK/bad2"
cat > "$WORK/bad2/stale.yaml" <<'Y'
cdiVersion: "0.3.0"
kind: example.com/stale
devices:
- name: gone
  containerEdits:
    env: [STALE=1]
    deviceNodes: [{path: /dev/gone0}]
Y
run "$ZAGENT" cdi inject -b "$B" --cdi-dir "$WORK/bad2" example.com/stale=gone
expect_rc "inject of a node missing on the host exits 2" 2
check "missing node: the host path is named" grep -q 'failed to stat CDI host device "/dev/gone0"' <<<"$err"
check "missing node: bundle unchanged (env not half-applied)" cmp -s "$B/config.json" "$WORK/after.json"
run "$ZAGENT" cdi inject --cdi-dir "$WORK/cdi" example.com/gpu=0; expect_rc "inject without -b exits 2" 2
run "$ZAGENT" cdi inject -b "$WORK/nobundle" --cdi-dir "$WORK/cdi" example.com/gpu=0
expect_rc "inject into a missing bundle exits 2" 2
ln -s "$B" "$WORK/blink"
run "$ZAGENT" cdi inject -b "$WORK/blink" --cdi-dir "$WORK/cdi" example.com/gpu=0
expect_rc "inject into a symlinked bundle is refused (exit 2)" 2
mkdir -p "$WORK/badjson"; printf '{"ociVersion": "1.0.2",\n "process": }\n' > "$WORK/badjson/config.json"
run "$ZAGENT" cdi inject -b "$WORK/badjson" --cdi-dir "$WORK/cdi" example.com/gpu=0
expect_rc "inject into an invalid config.json exits 2" 2
check "invalid config.json: FILE:LINE:COL" grep -qE "^$WORK/badjson/config.json:2:[0-9]+: invalid JSON" <<<"$err"

# ---- bundles with CDI devices ------------------------------------------------
cat > "$WORK/svc.yaml" <<'Y'
version: v1
deployment: cdi
services:
  app:
    image: {name: busybox}
    command:
      entrypoint: ["/bin/sh", "-c"]
      args:
        - |
          test -c /dev/fakegpu0 && echo NODE_OK
          cat /opt/share/hello.txt
          echo "FAKEGPU=$FAKEGPU FAKE_GLOBAL=$FAKE_GLOBAL"
          echo data > /dev/fakegpu0 && echo WRITE_OK
Y
sed 's/^    image: {name: busybox}$/    image: {name: busybox}\n    devices:\n      - path: example.com\/fakegpu=gpu0/' \
  "$WORK/svc.yaml" > "$WORK/svc-devices.yaml"
mkdir -p "$WORK/nv"
cat > "$WORK/nv/nvidia.yaml" <<Y
cdiVersion: "0.5.0"
kind: nvidia.com/gpu
containerEdits:
  env: [NVIDIA_GLOBAL=1]
  mounts:
  - {hostPath: $WORK/share, containerPath: /opt/nvshare, options: [ro, rbind]}
devices:
- name: "0"
  containerEdits:
    env: [NV_DEV0=1]
    deviceNodes: [{path: /dev/nvidia0, hostPath: $WORK/dev/fakegpu0}]
- name: "1"
  containerEdits:
    env: [NV_DEV1=1]
    deviceNodes: [{path: /dev/nvidia1, hostPath: $WORK/dev/fakegpu0}]
Y
cat > "$WORK/gpu.yaml" <<'Y'
version: v1
deployment: cdi
services:
  trainer:
    image: {name: busybox}
    resources:
      gpu: {count: 2, vendor: nvidia}
    command:
      entrypoint: ["/bin/sh", "-c"]
      args: ["ls /dev/nvidia0 /dev/nvidia1 && cat /opt/nvshare/hello.txt && echo NV=$NV_DEV0$NV_DEV1$NVIDIA_GLOBAL"]
Y
sed 's/count: 2/count: 3/' "$WORK/gpu.yaml" > "$WORK/gpu3.yaml"

if mknod "$WORK/dev/fakegpu0" c 1 3 2>/dev/null; then
  HAVE_NODE=1
else
  HAVE_NODE=0
fi
if [ "$HAVE_NODE" = 1 ]; then
  run "$ZAGENT" bundle -f "$WORK/svc.yaml" -b "$WORK/b1" --device example.com/fakegpu=gpu0 --cdi-dir "$WORK/cdi"
  expect_rc "bundle --device NAME --cdi-dir DIR exits 0" 0
  C=$WORK/b1/config.json
  check "bundle --device: node with the host's type and numbers" \
    test "$(json "$C" '[(d["path"], d["type"], d["major"], d["minor"]) for d in c["linux"]["devices"] if d["path"] == "/dev/fakegpu0"]')" = \
    "[('/dev/fakegpu0', 'c', 1, 3)]"
  check "bundle --device: a device-cgroup rule appended for it" \
    test "$(json "$C" 'c["linux"]["resources"]["devices"][-1]')" = \
    "{'allow': True, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rwm'}"
  check "bundle --device: spec-level env and device env" \
    test "$(json "$C" '[e for e in c["process"]["env"] if e.startswith("FAKE")]')" = "['FAKE_GLOBAL=1', 'FAKEGPU=0']"
  check "bundle --device: the CDI mount" \
    test "$(json "$C" '[(m["source"], m.get("options")) for m in c["mounts"] if m["destination"] == "/opt/share"]')" = \
    "[('$WORK/share', ['ro', 'rbind'])]"
  run "$ZAGENT" bundle -f "$WORK/svc-devices.yaml" -b "$WORK/b2" --cdi-dir "$WORK/cdi"
  expect_rc "bundle with a service devices: [{path: vendor/class=name}] exits 0" 0
  check "service devices entry injects the same edits" cmp -s <(json "$WORK/b1/config.json" 'c["linux"]["devices"], c["process"]["env"], c["mounts"]') \
    <(json "$WORK/b2/config.json" 'c["linux"]["devices"], c["process"]["env"], c["mounts"]')
  run "$ZAGENT" bundle -f "$WORK/gpu.yaml" -b "$WORK/b3" --cdi-dir "$WORK/nv"
  expect_rc "bundle with resources.gpu nvidia x2 and a fake nvidia.com/gpu spec exits 0" 0
  C=$WORK/b3/config.json
  check "gpu via CDI: devices 0 and 1 injected" \
    test "$(json "$C" '[d["path"] for d in c["linux"]["devices"] if d["path"].startswith("/dev/nvidia")]')" = \
    "['/dev/nvidia0', '/dev/nvidia1']"
  check "gpu via CDI: spec-level env applied once" \
    test "$(json "$C" 'sum(1 for e in c["process"]["env"] if e == "NVIDIA_GLOBAL=1")')" = 1
  check "gpu via CDI: spec-level mount applied once" \
    test "$(json "$C" 'sum(1 for m in c["mounts"] if m["destination"] == "/opt/nvshare")')" = 1
  check "gpu via CDI: each device's env" \
    test "$(json "$C" '[e for e in c["process"]["env"] if e.startswith("NV_DEV")]')" = "['NV_DEV0=1', 'NV_DEV1=1']"
  run "$ZAGENT" bundle -f "$WORK/gpu3.yaml" -b "$WORK/b4" --cdi-dir "$WORK/nv"
  expect_rc "strict mode (--cdi-dir): a GPU the spec lacks exits 2" 2
  check "strict gpu: the error names the vendor and the device" \
    grep -q "nvidia.com/gpu=2" <<<"$err"
  check "strict gpu: no bundle written" test ! -e "$WORK/b4/config.json"
else
  skip "bundles with CDI device nodes" "mknod not permitted (needs root)"
fi
run "$ZAGENT" bundle -f "$WORK/svc.yaml" -b "$WORK/b5" --device example.com/fakegpu=nope --cdi-dir "$WORK/cdi"
expect_rc "strict mode: --device for a missing device exits 2" 2
check "missing device: the error names it" grep -q "example.com/fakegpu=nope" <<<"$err"
check "missing device: no bundle written" test ! -e "$WORK/b5/config.json"
run "$ZAGENT" bundle -f "$WORK/svc.yaml" -b "$WORK/b6" --device /dev/null --cdi-dir "$WORK/cdi"
expect_rc "--device with a path (not a CDI name) exits 2" 2

# ---- running with runc ------------------------------------------------------
if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null || [ "$HAVE_NODE" != 1 ]; then
  skip "CDI devices in a runc container" "needs root, mknod and runc"
else
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  declare -A tun_out
  runrunc () { # runrunc BUNDLE: sets out/rc
    local id="zc-$$-$RANDOM"
    out=$(cd "$1" && timeout 30 runc run "$id" 2>&1); rc=$?
    runc delete -f "$id" >/dev/null 2>&1
  }
  for variant in "--device:svc.yaml:--device example.com/fakegpu=gpu0" "devices-entry:svc-devices.yaml:"; do
    IFS=: read -r label file extra <<<"$variant"
    run "$ZAGENT" bundle -f "$WORK/$file" -b "$WORK/r-$label" --rootfs "$WORK/rootfs" $extra --cdi-dir "$WORK/cdi"
    expect_rc "runc [$label]: bundle exits 0" 0
    runrunc "$WORK/r-$label"
    if [ "$rc" = 0 ]; then ok "runc [$label]: container ran"; else not_ok "runc [$label]: container ran" "$out"; fi
    check "runc [$label]: the device node exists" grep -qx NODE_OK <<<"$out"
    check "runc [$label]: the file in the CDI mount is readable" grep -qx "hello from the cdi mount" <<<"$out"
    check "runc [$label]: the CDI env is set" grep -qx "FAKEGPU=0 FAKE_GLOBAL=1" <<<"$out"
    check "runc [$label]: writing to the node succeeds" grep -qx WRITE_OK <<<"$out"
  done
  # 1:3 is allowed by the default device list anyway; a node the defaults
  # do not cover (10:200, the tun device) shows the CDI rule at work:
  # opened read-write with `permissions: rw`, refused with `r`.
  if [ -c /dev/net/tun ] && mknod "$WORK/dev/faketun" c 10 200 2>/dev/null; then
    mkdir -p "$WORK/tun"
    cat > "$WORK/tun/tun.yaml" <<Y
cdiVersion: "0.5.0"
kind: example.com/tun
devices:
- name: rw
  containerEdits:
    deviceNodes: [{path: /dev/faketun, hostPath: $WORK/dev/faketun, permissions: rw}]
- name: ro
  containerEdits:
    deviceNodes: [{path: /dev/faketun, hostPath: $WORK/dev/faketun, permissions: r}]
Y
    for p in rw ro; do
      "$ZAGENT" bundle -f "$WORK/svc.yaml" -b "$WORK/r-tun-$p" --rootfs "$WORK/rootfs" --device example.com/tun=$p \
        --cdi-dir "$WORK/tun" -- /bin/sh -c \
        '( exec 3<>/dev/faketun ) 2>/dev/null && echo OPEN_RW || echo DENIED_RW; ( exec 3</dev/faketun ) 2>/dev/null && echo OPEN_R' \
        >/dev/null
      runrunc "$WORK/r-tun-$p"
      tun_out[$p]=$(echo $out)
    done
    # control: the same node with its CDI rule removed must not open at all
    mkdir -p "$WORK/r-tun-none"
    python3 -c 'import json, sys
c = json.load(open(sys.argv[1])); r = c["linux"]["resources"]["devices"]
assert r[-1].get("major") == 10 and r[-1].get("minor") == 200; r.pop()
json.dump(c, open(sys.argv[2], "w"))' "$WORK/r-tun-ro/config.json" "$WORK/r-tun-none/config.json"
    runrunc "$WORK/r-tun-none"
    check "runc: device-cgroup rule from CDI permissions rw lets the node open read-write" test "${tun_out[rw]}" = "OPEN_RW OPEN_R"
    if [ "$(echo $out)" = "DENIED_RW" ]; then
      check "runc: CDI permissions r: read-write open refused, read allowed" test "${tun_out[ro]}" = "DENIED_RW OPEN_R"
    else
      skip "runc: CDI permissions r: read-write open refused" "this host does not enforce device cgroups (a node without an allow rule opens: $(echo $out))"
    fi
  else
    skip "CDI device-cgroup permissions in runc" "no /dev/net/tun on this host"
  fi
  run "$ZAGENT" bundle -f "$WORK/gpu.yaml" -b "$WORK/r-gpu" --rootfs "$WORK/rootfs" --cdi-dir "$WORK/nv"
  expect_rc "runc [gpu]: bundle exits 0" 0
  runrunc "$WORK/r-gpu"
  check "runc [gpu]: both GPU nodes, the mount and the env" \
    test "$(echo $out)" = "/dev/nvidia0 /dev/nvidia1 hello from the cdi mount NV=111"
fi

finish
