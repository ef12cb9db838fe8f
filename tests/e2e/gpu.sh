#!/bin/bash
# End-to-end tests of GPU support through the CLI, on fake hosts made by
# tests/fakehost/mkhost.sh (ZAGENT_HOST_ROOT): `gpu list`, `cdi generate`
# (checked by `cdi validate` and the reference CDI oracle), specs through
# the generated CDI spec and through passthrough, input errors (exit 2),
# every config.json checked by validate-oci-config, and one container run
# with runc whose "GPU" is a fake /dev/nvidia0 (the numbers of /dev/null).
# Needs root (mknod); runc for the last part.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHARED=${SHARED:-$(realpath "$root/../shared")}
VALIDATOR=$root/../shared/tools/validate-oci-config
WORK=$(mktemp -d /tmp/zagent-gpu.XXXXXX)
trap 'for c in $(runc list -q 2>/dev/null | grep "^zg-$$-"); do runc delete -f "$c" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
. "$here/lib.sh"
# Lenient CDI discovery must not see this machine's /etc/cdi.
export CDI_SPEC_DIRS=$WORK/no-cdi
mkdir -p "$CDI_SPEC_DIRS"
unset ZAGENT_HOST_ROOT ZLAYER_CGROUP_PARENT

if [ "$(id -u)" != 0 ]; then
  skip "GPU end-to-end tests" "fake GPU hosts need root (mknod)"
  finish; exit $?
fi

mkhost () { bash "$root/tests/fakehost/mkhost.sh" "$@" >/dev/null; }
valid_config () { # valid_config NAME FILE
  if "$VALIDATOR" -q "$2" >"$WORK/.v" 2>&1; then ok "$1: config.json valid"
  else not_ok "$1: config.json valid" "$(head -5 "$WORK/.v")"; fi
}
# jq-like checks with python: pyjson FILE EXPR (EXPR sees `c`; true → 0)
pyjson () {
  python3 - "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
sys.exit(0 if eval('(' + sys.argv[2] + ')') else 1)
PY
}
svc () { # svc FILE GPU-FLOW-MAPPING [EXTRA-SERVICE-LINES]
  printf 'version: v1\ndeployment: gpu-e2e\nservices:\n  train:\n    image: {name: busybox}\n    cgroup_parent: /zt\n%b    resources:\n      gpu: %s\n' \
    "${3:-}" "$2" > "$1"
}

# ---- the reference CDI oracle ---------------------------------------------
# The one meson built next to the binary, else build it into $WORK.
ORACLE=${CDI_ORACLE:-}
oracle_why=""
if [ -z "$ORACLE" ]; then
  cand=$(dirname "$ZAGENT")/tests/cdi-oracle
  if [ -x "$cand" ] && "$cand" --versions >/dev/null 2>&1; then
    ORACLE=$cand
  elif [ -x "$root/scripts/build-oracle.sh" ]; then
    if "$root/scripts/build-oracle.sh" "$WORK/oracle" >"$WORK/oracle.log" 2>&1 \
        && "$WORK/oracle/cdi-oracle" --versions >/dev/null 2>&1; then
      ORACLE=$WORK/oracle/cdi-oracle
    else
      oracle_why="scripts/build-oracle.sh failed: $(grep -v '^built' "$WORK/oracle.log" | tail -1)"
    fi
  else
    oracle_why="scripts/build-oracle.sh not found"
  fi
fi
[ -n "$ORACLE" ] || echo "# CDI oracle unavailable ($oracle_why): its checks are skipped"

# ---- fake hosts -------------------------------------------------------------
for v in nvidia amd intel; do
  mkhost "$WORK/h-$v" "$v" 2
done
mkdir -p "$WORK/h-empty"
mkhost "$WORK/h-mixed" intel 1
mkhost "$WORK/h-mixed" nvidia 1
mkhost "$WORK/h-mixed" amd 1

# ---- gpu list -------------------------------------------------------------------
declare -A model=([nvidia]="NVIDIA H100 80GB HBM3" [amd]="AMD Instinct MI300X" [intel]="PCI device 0x2330")
declare -A model1=([nvidia]="NVIDIA H100 80GB HBM3" [amd]="AMD Instinct MI300X" [intel]="PCI device 0x2331")
declare -A drv=([nvidia]="nvidia 550.54.15" [amd]="amdgpu" [intel]="i915")
declare -A bus=([nvidia]=01 [amd]=03 [intel]=05)
for v in nvidia amd intel; do
  run env ZAGENT_HOST_ROOT="$WORK/h-$v" "$ZAGENT" gpu list
  expect_rc "gpu list ($v host) exits 0" 0
  check "gpu list ($v): header" grep -qE '^VENDOR +INDEX +PCI +MODEL +DRIVER +NODES$' <<<"$out"
  if [ "$v" = nvidia ]; then n0=/dev/nvidia0 n1=/dev/nvidia1
  else n0=/dev/dri/card0,/dev/dri/renderD128 n1=/dev/dri/card1,/dev/dri/renderD129; fi
  check "gpu list ($v): GPU 0 line" grep -qxE "$v +0 +0000:${bus[$v]}:00\.0 +${model[$v]} +${drv[$v]} +$n0" <<<"$out"
  check "gpu list ($v): GPU 1 line" grep -qxE "$v +1 +0000:${bus[$v]}:01\.0 +${model1[$v]} +${drv[$v]} +$n1" <<<"$out"
  check "gpu list ($v): 3 lines" test "$(wc -l <<<"$out")" = 3
  run env ZAGENT_HOST_ROOT="$WORK/h-$v" "$ZAGENT" gpu list --json
  expect_rc "gpu list --json ($v host) exits 0" 0
  printf '%s' "$out" > "$WORK/list-$v.json"
  check "gpu list --json ($v): two GPUs with index, pci, nodes" pyjson "$WORK/list-$v.json" \
    "len(c) == 2 and [g['vendor'] for g in c] == ['$v'] * 2 and [g['index'] for g in c] == [0, 1]
     and c[1]['pci'] == '0000:${bus[$v]}:01.0' and c[1]['nodes'] == '$n1'.split(',')
     and c[0]['model'] == '${model[$v]}'"
done
check "gpu list --json (nvidia): UUID and driver version" pyjson "$WORK/list-nvidia.json" \
  "c[0]['uuid'] == 'GPU-0000abc0-1111-2222-3333-444444444440' and c[0]['driverVersion'] == '550.54.15' and c[0]['driver'] == 'nvidia'"
check "gpu list --json (amd): uuid and driverVersion null" pyjson "$WORK/list-amd.json" \
  "c[0]['uuid'] is None and c[0]['driverVersion'] is None and c[0]['driver'] == 'amdgpu'"
run env ZAGENT_HOST_ROOT="$WORK/h-mixed" "$ZAGENT" gpu list --json
printf '%s' "$out" > "$WORK/list-mixed.json"
check "gpu list --json (mixed host): vendor order, DRM nodes by PCI" pyjson "$WORK/list-mixed.json" \
  "[(g['vendor'], g['index']) for g in c] == [('nvidia', 0), ('amd', 0), ('intel', 0)]
   and c[1]['nodes'] == ['/dev/dri/card1', '/dev/dri/renderD129'] and c[2]['nodes'] == ['/dev/dri/card0', '/dev/dri/renderD128']"
run env ZAGENT_HOST_ROOT="$WORK/h-empty" "$ZAGENT" gpu list
expect_rc "gpu list (no GPUs) exits 0" 0
check "gpu list (no GPUs): nothing on stdout" test -z "$out"
check "gpu list (no GPUs) says so on stderr" test "$err" = "zagent: no GPUs found"
run env ZAGENT_HOST_ROOT="$WORK/h-mixed" "$ZAGENT" gpu list -q
check "gpu list -q: the PCI addresses, one per line, in list order" test "$(echo $out)" = "0000:01:00.0 0000:03:00.0 0000:05:00.0"
run env ZAGENT_HOST_ROOT="$WORK/h-mixed" "$ZAGENT" gpu list --format json
check "gpu list --format json = --json" test "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$out")" = 3
run env ZAGENT_HOST_ROOT="$WORK/h-mixed" "$ZAGENT" gpu list --format=table
check "gpu list --format table: the table" grep -qE '^VENDOR +INDEX' <<<"$out"
run env ZAGENT_HOST_ROOT="$WORK/h-empty" "$ZAGENT" gpu list -q
check "gpu list -q (no GPUs): empty" test -z "$out"
run "$ZAGENT" gpu list --format xml; expect_rc "gpu list --format xml exits 2" 2
run "$ZAGENT" gpu list -q --json; expect_rc "gpu list -q --json exits 2" 2
run env ZAGENT_HOST_ROOT="$WORK/h-empty" "$ZAGENT" gpu list --json
check "gpu list --json (no GPUs) is []" test "$out" = "[]"
run "$ZAGENT" gpu list --bogus; expect_rc "gpu list --bogus exits 2" 2
run "$ZAGENT" gpu frob; expect_rc "gpu frob exits 2" 2
run "$ZAGENT" gpu list --help; expect_rc "gpu list --help exits 0" 0

# ---- cdi generate ---------------------------------------------------------------
declare -A kind=([nvidia]=nvidia.com/gpu [amd]=amd.com/gpu [intel]=intel.com/gpu)
for v in nvidia amd intel; do
  mkdir -p "$WORK/cdi-$v"
  run env ZAGENT_HOST_ROOT="$WORK/h-$v" "$ZAGENT" cdi generate --vendor "$v" -o "$WORK/cdi-$v/$v.json"
  expect_rc "cdi generate --vendor $v -o exits 0" 0
  run env ZAGENT_HOST_ROOT="$WORK/h-$v" "$ZAGENT" cdi generate --vendor "$v"
  check "cdi generate --vendor $v: stdout = the -o file" test "$out" = "$(cat "$WORK/cdi-$v/$v.json")"
  run "$ZAGENT" cdi validate "$WORK/cdi-$v/$v.json"
  expect_rc "cdi validate accepts the generated $v spec" 0
  check "generated $v spec: cdiVersion 0.5.0, kind ${kind[$v]}" pyjson "$WORK/cdi-$v/$v.json" \
    "c['cdiVersion'] == '0.5.0' and c['kind'] == '${kind[$v]}'"
  if [ "$v" = nvidia ]; then
    want="0 1 GPU-0000abc0-1111-2222-3333-444444444440 GPU-0000abc1-1111-2222-3333-444444444441 all"
  else
    want="0 1 all"
  fi
  names=$(for d in $want; do echo "${kind[$v]}=$d"; done)
  run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi-$v"
  check "cdi list: the generated $v devices" test "$out" = "$names"
  if [ -n "$ORACLE" ]; then
    run "$ORACLE" --validate "$WORK/cdi-$v/$v.json"
    if [ "$rc" = 0 ] && grep -q "^VALID " <<<"$out"; then ok "oracle validates the generated $v spec"
    else not_ok "oracle validates the generated $v spec" "$out" "$err"; fi
    run "$ORACLE" --strict --spec-dirs "$WORK/cdi-$v" --list
    check "oracle lists the generated $v devices" test "$out" = "$names"
  else
    skip "oracle validates the generated $v spec" "$oracle_why"
    skip "oracle lists the generated $v devices" "$oracle_why"
  fi
done
check "generated nvidia spec: control nodes, libraries ro, firmware" pyjson "$WORK/cdi-nvidia/nvidia.json" \
  "[n['path'] for n in c['containerEdits']['deviceNodes']] == ['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia-modeset']
   and c['containerEdits']['env'] == ['NVIDIA_VISIBLE_DEVICES=void']
   and all(m['options'] == ['ro', 'nosuid', 'nodev', 'bind'] for m in c['containerEdits']['mounts'])
   and '/usr/bin/nvidia-smi' in [m['hostPath'] for m in c['containerEdits']['mounts']]
   and '/usr/lib/x86_64-linux-gnu/libcuda.so.1' in [m['hostPath'] for m in c['containerEdits']['mounts']]
   and '/lib/firmware/nvidia/550.54.15/gsp_ga10x.bin' in [m['hostPath'] for m in c['containerEdits']['mounts']]"
check "generated amd spec: /dev/kfd at spec level" pyjson "$WORK/cdi-amd/amd.json" \
  "c['containerEdits'] == {'deviceNodes': [{'path': '/dev/kfd'}]}"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" cdi generate --vendor amd
expect_rc "cdi generate --vendor amd on an NVIDIA host exits 2" 2
check "... and says no amd GPUs" grep -q "no amd GPUs found on this host" <<<"$err"
run env ZAGENT_HOST_ROOT="$WORK/h-empty" "$ZAGENT" cdi generate --vendor nvidia
expect_rc "cdi generate on a host without GPUs exits 2" 2
run "$ZAGENT" cdi generate --vendor apple; expect_rc "cdi generate --vendor apple exits 2" 2
run "$ZAGENT" cdi generate; expect_rc "cdi generate without --vendor exits 2" 2

# ---- specs: through the generated CDI spec, and passthrough ----------------------
declare -A vis=([nvidia]="NVIDIA_VISIBLE_DEVICES=0,1" [amd]="ROCR_VISIBLE_DEVICES=0,1" [intel]="ZE_AFFINITY_MASK=0,1")
for v in nvidia amd intel; do
  svc "$WORK/two-$v.yaml" "{count: 2, vendor: $v}"
  if [ "$v" = nvidia ]; then nodes="['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia-modeset', '/dev/nvidia0', '/dev/nvidia1']"
  elif [ "$v" = amd ]; then nodes="['/dev/kfd', '/dev/dri/card0', '/dev/dri/renderD128', '/dev/dri/card1', '/dev/dri/renderD129']"
  else nodes="['/dev/dri/card0', '/dev/dri/renderD128', '/dev/dri/card1', '/dev/dri/renderD129']"; fi
  run env ZAGENT_HOST_ROOT="$WORK/h-$v" "$ZAGENT" spec -f "$WORK/two-$v.yaml" --no-rootless --cdi-dir "$WORK/cdi-$v"
  expect_rc "spec --cdi-dir: 2 $v GPUs through the generated spec" 0
  printf '%s' "$out" > "$WORK/cfg-cdi-$v.json"
  valid_config "2 $v GPUs via CDI" "$WORK/cfg-cdi-$v.json"
  check "2 $v GPUs via CDI: the spec's nodes, each with an exact cgroup rule" pyjson "$WORK/cfg-cdi-$v.json" \
    "[d['path'] for d in c['linux']['devices']] == $nodes
     and all({'allow': True, 'type': 'c', 'major': d['major'], 'minor': d['minor'], 'access': 'rwm'} in c['linux']['resources']['devices'] for d in c['linux']['devices'])"
  check "2 $v GPUs via CDI: no passthrough visibility env" bash -c "! grep -q '\"${vis[$v]}\"' '$WORK/cfg-cdi-$v.json'"
  check "2 $v GPUs via CDI: no warning" test -z "$err"

  run env ZAGENT_HOST_ROOT="$WORK/h-$v" "$ZAGENT" spec -f "$WORK/two-$v.yaml" --no-rootless
  expect_rc "spec without CDI: 2 $v GPUs by passthrough" 0
  printf '%s' "$out" > "$WORK/cfg-pt-$v.json"
  valid_config "2 $v GPUs by passthrough" "$WORK/cfg-pt-$v.json"
  check "2 $v GPUs by passthrough: quiet when the host has no CDI spec" bash -c '! grep -q "falling back" <<<"$1"' _ "$err"
  mkdir -p "$WORK/partial-$v"
  python3 - "$WORK/cdi-$v"/*.json "$WORK/partial-$v/spec.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s["devices"] = [d for d in s["devices"] if d["name"] != "1"]
json.dump(s, open(sys.argv[2], "w"))
PY
  run env ZAGENT_HOST_ROOT="$WORK/h-$v" CDI_SPEC_DIRS="$WORK/partial-$v" "$ZAGENT" spec -f "$WORK/two-$v.yaml" --no-rootless
  expect_rc "spec with a CDI spec lacking a GPU: passthrough" 0
  check "2 $v GPUs, spec lacks one: warning about the CDI fallback" grep -q "falling back to direct GPU device passthrough" <<<"$err"
  check "2 $v GPUs by passthrough: visibility env" pyjson "$WORK/cfg-pt-$v.json" "'${vis[$v]}' in c['process']['env']"
  # passthrough: no /dev/nvidia-modeset; DRI nodes in the seed's order (§11.7):
  # every renderD* first, then every card* (a CDI spec keeps them device by device)
  if [ "$v" = nvidia ]; then pt_nodes="['/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia-uvm-tools', '/dev/nvidia0', '/dev/nvidia1']"
  elif [ "$v" = amd ]; then pt_nodes="['/dev/kfd', '/dev/dri/renderD128', '/dev/dri/renderD129', '/dev/dri/card0', '/dev/dri/card1']"
  else pt_nodes="['/dev/dri/renderD128', '/dev/dri/renderD129', '/dev/dri/card0', '/dev/dri/card1']"; fi
  check "2 $v GPUs by passthrough: nodes" pyjson "$WORK/cfg-pt-$v.json" \
    "[d['path'] for d in c['linux']['devices']] == $pt_nodes and all(d['fileMode'] == 438 for d in c['linux']['devices'])"
done
check "passthrough nvidia: UVM major 509 (> 255) decoded and allowed" pyjson "$WORK/cfg-pt-nvidia.json" \
  "{'path': '/dev/nvidia-uvm', 'type': 'c', 'major': 509, 'minor': 0, 'fileMode': 438, 'uid': 0, 'gid': 0} in c['linux']['devices']
   and {'allow': True, 'type': 'c', 'major': 509, 'access': 'rwm'} in c['linux']['resources']['devices']
   and {'allow': True, 'type': 'c', 'major': 508, 'access': 'rwm'} in c['linux']['resources']['devices']"

# The bundle command writes the same thing to disk.
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" bundle -f "$WORK/two-nvidia.yaml" --no-rootless \
  --cdi-dir "$WORK/cdi-nvidia" -b "$WORK/b-nvidia"
expect_rc "bundle --cdi-dir (2 nvidia GPUs)" 0
valid_config "bundle with 2 nvidia GPUs via CDI" "$WORK/b-nvidia/config.json"

# ---- input errors -----------------------------------------------------------------
svc "$WORK/three.yaml" "{count: 3}"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/three.yaml" --no-rootless
expect_rc "3 GPUs on a 2-GPU host exits 2" 2
check "... with position, path and counts" grep -q "^$WORK/three.yaml:8:[0-9]*: services.train.resources.gpu: requested 3 nvidia GPUs but the host has 2$" <<<"$err"
check "... and no config on stdout" test -z "$out"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/three.yaml" --no-rootless --cdi-dir "$WORK/cdi-nvidia"
expect_rc "3 GPUs with a strict --cdi-dir exits 2" 2
check "... CDI resolution failed" grep -q "CDI resolution failed for vendor 'nvidia'" <<<"$err"
svc "$WORK/amd3.yaml" "{count: 3, vendor: amd}"
run env ZAGENT_HOST_ROOT="$WORK/h-amd" "$ZAGENT" spec -f "$WORK/amd3.yaml" --no-rootless
expect_rc "3 amd GPUs on a 2-GPU host exits 2" 2
check "... requested 3 amd GPUs" grep -q "requested 3 amd GPUs but the host has 2" <<<"$err"

svc "$WORK/mps.yaml" "{count: 1, sharing: mps}"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/mps.yaml" --no-rootless
expect_rc "MPS without a pipe directory exits 2" 2
check "... MPS pipe message" grep -q "GPU sharing mode 'mps' is unavailable: MPS pipe directory /tmp/nvidia-mps does not exist; ensure nvidia-cuda-mps-control is running" <<<"$err"
mkdir -p "$WORK/h-nvidia/tmp/nvidia-mps"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/mps.yaml" --no-rootless
expect_rc "MPS without a log directory exits 2" 2
check "... MPS log message" grep -q "GPU sharing mode 'mps' is unavailable: MPS log directory /tmp/nvidia-log does not exist; ensure nvidia-cuda-mps-control is running" <<<"$err"
mkdir -p "$WORK/h-nvidia/tmp/nvidia-log"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/mps.yaml" --no-rootless
expect_rc "MPS with both directories" 0
printf '%s' "$out" > "$WORK/cfg-mps.json"
valid_config "MPS" "$WORK/cfg-mps.json"
check "MPS: env and rw bind mounts" pyjson "$WORK/cfg-mps.json" \
  "c['process']['env'][-2:] == ['CUDA_MPS_PIPE_DIRECTORY=/tmp/nvidia-mps', 'CUDA_MPS_LOG_DIRECTORY=/tmp/nvidia-log']
   and c['mounts'][-2:] == [{'destination': d, 'type': 'bind', 'source': d, 'options': ['rbind', 'rw']} for d in ('/tmp/nvidia-mps', '/tmp/nvidia-log')]"

svc "$WORK/ts.yaml" "{count: 2, sharing: time-slice, time_slice_index: 1, time_slicing_config_path: /etc/nvidia/ts.yaml}"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/ts.yaml" --no-rootless
expect_rc "time-slice config missing exits 2" 2
check "... time-slice message" grep -q "GPU sharing mode 'time-slice' is unavailable: time-slicing config /etc/nvidia/ts.yaml is not a regular file on the host" <<<"$err"
mkdir -p "$WORK/h-nvidia/etc/nvidia/ts.yaml"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/ts.yaml" --no-rootless
expect_rc "time-slice config that is a directory exits 2" 2
rmdir "$WORK/h-nvidia/etc/nvidia/ts.yaml"
echo 'version: v1' > "$WORK/h-nvidia/etc/nvidia/ts.yaml"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/ts.yaml" --no-rootless
expect_rc "time-slice with its config file" 0
printf '%s' "$out" > "$WORK/cfg-ts.json"
valid_config "time-slice" "$WORK/cfg-ts.json"
check "time-slice: CUDA_VISIBLE_DEVICES is the index, config mounted ro" pyjson "$WORK/cfg-ts.json" \
  "c['process']['env'][-2:] == ['NVIDIA_VISIBLE_DEVICES=0,1', 'CUDA_VISIBLE_DEVICES=1']
   and c['mounts'][-1] == {'destination': '/etc/nvidia/gpu-time-slicing.yaml', 'type': 'bind', 'source': '/etc/nvidia/ts.yaml', 'options': ['rbind', 'ro']}"
svc "$WORK/ts2.yaml" "{count: 2, sharing: time-slice, time_slice_index: 2}"
run env ZAGENT_HOST_ROOT="$WORK/h-nvidia" "$ZAGENT" spec -f "$WORK/ts2.yaml" --no-rootless
expect_rc "time_slice_index beyond the count exits 2" 2

svc "$WORK/dist.yaml" "{count: 2, vendor: amd, distributed: {backend: gloo, master_port: 29600}}" "    scale: {mode: fixed, replicas: 3}\n"
run env ZAGENT_HOST_ROOT="$WORK/h-amd" "$ZAGENT" spec -f "$WORK/dist.yaml" --no-rootless -r 2
expect_rc "distributed replica 2 of 3" 0
printf '%s' "$out" > "$WORK/cfg-dist.json"
valid_config "distributed" "$WORK/cfg-dist.json"
check "distributed: env after the visibility variables" pyjson "$WORK/cfg-dist.json" \
  "c['process']['env'][2:] == ['ROCR_VISIBLE_DEVICES=0,1', 'HIP_VISIBLE_DEVICES=0,1', 'MASTER_PORT=29600', 'MASTER_ADDR=train',
    'WORLD_SIZE=3', 'RANK=1', 'LOCAL_RANK=0', 'GLOO_SOCKET_IFNAME=eth0']"

svc "$WORK/zero.yaml" "{count: 0, sharing: mps, mps_pipe_dir: /nonexistent, distributed: {}}"
run env ZAGENT_HOST_ROOT="$WORK/h-empty" "$ZAGENT" spec -f "$WORK/zero.yaml" --no-rootless
expect_rc "count 0: no GPU, no checks" 0
printf '%s' "$out" > "$WORK/cfg-zero.json"
valid_config "count 0" "$WORK/cfg-zero.json"
check "count 0: no GPU env, nodes or rules" pyjson "$WORK/cfg-zero.json" \
  "len(c['process']['env']) == 2 and 'devices' not in c['linux'] and len(c['linux']['resources']['devices']) == 10"

# ---- one container with a (fake) GPU under runc --------------------------------------
if ! command -v runc >/dev/null; then
  skip "runc run with a GPU" "runc not installed"
else
  R=$WORK/h-run
  mkdir -p "$R/dev"
  mknod "$R/dev/nvidia0" c 1 3   # the numbers of /dev/null: writable
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  cat > "$WORK/run.yaml" <<'Y'
version: v1
deployment: gpu-e2e
services:
  train:
    image: {name: busybox}
    command:
      entrypoint: ["/bin/sh", "-c"]
      args: ["test -c /dev/nvidia0 && echo NODE_OK; echo x > /dev/nvidia0 && echo WRITE_OK; env"]
    resources:
      gpu:
        count: 1
        sharing: time-slice
        time_slice_index: 0
        distributed: {}
Y
  run env ZAGENT_HOST_ROOT="$R" "$ZAGENT" bundle -f "$WORK/run.yaml" -b "$WORK/b-run" --rootfs "$WORK/rootfs" --no-rootless
  expect_rc "bundle with 1 GPU on the node-only host" 0
  check "node-only host: missing control nodes are warnings" grep -q "GPU device /dev/nvidiactl not found on host, skipping" <<<"$err"
  valid_config "runc bundle" "$WORK/b-run/config.json"
  check "the GPU node keeps the fake's numbers (c 1:3)" pyjson "$WORK/b-run/config.json" \
    "c['linux']['devices'] == [{'path': '/dev/nvidia0', 'type': 'c', 'major': 1, 'minor': 3, 'fileMode': 438, 'uid': 0, 'gid': 0}]"
  id="zg-$$-$RANDOM"
  out=$(cd "$WORK/b-run" && timeout 30 runc run "$id" 2>&1); rc=$?
  runc delete -f "$id" >/dev/null 2>&1
  if [ "$rc" = 0 ]; then ok "runc runs the GPU bundle"; else not_ok "runc runs the GPU bundle" "$(echo "$out" | head -5)"; fi
  check "container: /dev/nvidia0 is a character device" grep -qx NODE_OK <<<"$out"
  check "container: /dev/nvidia0 opens for writing" grep -qx WRITE_OK <<<"$out"
  for kv in NVIDIA_VISIBLE_DEVICES=0 CUDA_VISIBLE_DEVICES=0 MASTER_ADDR=train MASTER_PORT=29500 WORLD_SIZE=1 RANK=0 LOCAL_RANK=0 NCCL_SOCKET_IFNAME=eth0; do
    check "container env: $kv" grep -qx "$kv" <<<"$out"
  done
fi

finish
