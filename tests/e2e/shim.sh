#!/bin/bash
# The zagent-runtime shim under real engines (TAP):
#   * its command line: --version and help name the shim first; the config
#     file (runtime, spec dirs, log file, level) and the env overrides; the
#     caller's --log/--log-format (runc's JSON line) for the shim's errors
#   * NVIDIA_VISIBLE_DEVICES and volume-mount requests, privileged or not
#   * podman (conmon drops the environment: the config comes from
#     $HOME/.config/zagent/runtime.yaml) and containerd 1.6 (its own
#     daemon, root, state and socket under a temp dir; an imported busybox
#     image; `ctr run --runc-binary`), spec dirs from the config file.
#   tests/e2e/shim.sh ZAGENT     (the shim is ZAGENT's neighbour zagent-runtime)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHIM=$(dirname "$ZAGENT")/zagent-runtime
SHARED=${SHARED:-$(realpath "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-shim.XXXXXX)
chmod 0755 "$WORK"
. "$here/lib.sh"
CTD_PID=
NS=zagent-shim-$$
cleanup () {
  if [ -n "$CTD_PID" ]; then
    for c in $(ctr --address "$WORK/ctd/c.sock" -n "$NS" tasks ls -q 2>/dev/null); do
      ctr --address "$WORK/ctd/c.sock" -n "$NS" tasks kill -s KILL "$c" >/dev/null 2>&1
    done
    kill "$CTD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CTD_PID" 2>/dev/null
  fi
  grep -o " $WORK/[^ ]*" /proc/self/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x "$SHIM" ] || { skip "zagent-runtime" "no shim next to $ZAGENT"; finish; exit; }

# ---- the command line, with a runtime that says what it got ----------------------
FAKE=$WORK/fake-runtime
printf '#!/bin/sh\necho "fake-runtime $*"\n' > "$FAKE"; chmod 0755 "$FAKE"
mkdir -p "$WORK/cdi" "$WORK/b"
cat > "$WORK/cdi/e2e.yaml" <<Y
cdiVersion: "0.5.0"
kind: zagent.e2e/shim$$
devices:
  - name: dev0
    containerEdits:
      env: ["SHIM_DEVICE=dev0"]
      deviceNodes:
        - {path: /dev/shim0, hostPath: /dev/null}
Y
CONF=$WORK/runtime.yaml
printf 'runtime: %s\ncdi-spec-dirs: [%s]\nlog-file: %s\nlog-level: info\n' "$FAKE" "$WORK/cdi" "$WORK/shim.log" > "$CONF"
shim () { run env -u CDI_SPEC_DIRS -u ZAGENT_SHIM_RUNTIME ZAGENT_RUNTIME_CONFIG="$CONF" timeout 10 "$SHIM" "$@"; }
bundle () { # bundle DIR ANNOTATIONS-JSON ENV-JSON CAPS-JSON [MOUNTS-JSON]
  mkdir -p "$1"
  printf '{"ociVersion":"1.0.2","process":{"env":%s,"capabilities":{"bounding":%s}},"annotations":%s,"mounts":%s}\n' \
    "$3" "$4" "$2" "${5:-[]}" > "$1/config.json"
}

shim --version
expect_rc "--version exits 0" 0
check "--version: the shim first" grep -qE '^zagent-runtime version [0-9]+\.[0-9]+' <<<"$(sed -n 1p <<<"$out")"
check "--version: then the runtime's, asked the same" grep -qx "fake-runtime --version" <<<"$out"
shim
expect_rc "no arguments: exit 0" 0
check "no arguments: the shim's help" grep -q "^Usage: zagent-runtime" <<<"$out"
check "no arguments: names the runtime it runs" grep -q "^Runtime: $FAKE" <<<"$out"
check "no arguments: names the config in use" grep -qx "Config in use: $CONF" <<<"$out"
check "no arguments: the runtime is not run" test -z "$(grep '^fake-runtime' <<<"$out")"

bundle "$WORK/b" "{\"cdi.k8s.io/x\":\"zagent.e2e/shim$$=dev0\"}" '[]' '[]'
shim --root /r --log "$WORK/b/log.json" --log-format json create --bundle "$WORK/b" c1
expect_rc "create through the configured runtime: exit 0" 0
check "the runtime got the very same arguments" \
  test "$out" = "fake-runtime --root /r --log $WORK/b/log.json --log-format json create --bundle $WORK/b c1"
check "spec dirs from the config: the device's env injected" grep -q '"SHIM_DEVICE=dev0"' "$WORK/b/config.json"
check "spec dirs from the config: the device node injected" grep -q '"/dev/shim0"' "$WORK/b/config.json"
check "log-level info: the log file has the create" grep -q '"level":"info","msg":"create: bundle' "$WORK/shim.log"

bundle "$WORK/b" "{\"cdi.k8s.io/x\":\"zagent.e2e/nope=x\"}" '[]' '[]'
before=$(sha256sum < "$WORK/b/config.json")
shim --log "$WORK/b/log.json" --log-format json create --bundle "$WORK/b" c2
expect_rc "an unresolvable device: exit 1" 1
check "the error on stderr, one line" test "$err" = "zagent-runtime: unresolvable CDI devices zagent.e2e/nope=x (searched \`$WORK/cdi\`)"
check "the runtime was not run" test -z "$out"
check "config.json untouched" test "$before" = "$(sha256sum < "$WORK/b/config.json")"
check "the caller's --log got runc's JSON error line" python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs[-1]["level"] == "error" and recs[-1]["msg"] == "unresolvable CDI devices zagent.e2e/nope=x (searched `%s`)" % sys.argv[2], recs
assert set(recs[-1]) == {"level", "msg", "time"} and recs[-1]["time"].endswith("Z")' "$WORK/b/log.json" "$WORK/cdi"
check "the shim's own log has it too" grep -qF '"level":"error","msg":"unresolvable CDI devices zagent.e2e/nope=x (searched `'"$WORK/cdi"'`)"' "$WORK/shim.log"
shim --log="$WORK/b/log.txt" --log-format=text create --bundle "$WORK/b" c2
check "--log-format text: a logrus text line" grep -q '^time="[^"]*" level=error msg="unresolvable CDI devices zagent.e2e/nope=x (searched `'"$WORK/cdi"'`)"$' "$WORK/b/log.txt"

# the environment overrides the file
run env ZAGENT_RUNTIME_CONFIG="$CONF" ZAGENT_SHIM_RUNTIME=/bin/echo timeout 10 "$SHIM" state x
check "ZAGENT_SHIM_RUNTIME overrides the config's runtime" test "$out" = "state x"
mkdir -p "$WORK/cdi2"; sed "s/dev0/dev9/g" "$WORK/cdi/e2e.yaml" > "$WORK/cdi2/e2e.yaml"
bundle "$WORK/b" "{\"cdi.k8s.io/x\":\"zagent.e2e/shim$$=dev9\"}" '[]' '[]'
run env ZAGENT_RUNTIME_CONFIG="$CONF" CDI_SPEC_DIRS="$WORK/cdi2" timeout 10 "$SHIM" create --bundle "$WORK/b" c3
check "CDI_SPEC_DIRS overrides the config's spec dirs" grep -q '"SHIM_DEVICE=dev9"' "$WORK/b/config.json"

# broken config files: one line naming the file, nothing run
printf 'runtime: %s\ncdi-spec-dir: [/x]\n' "$FAKE" > "$WORK/bad.yaml"
run env ZAGENT_RUNTIME_CONFIG="$WORK/bad.yaml" timeout 10 "$SHIM" state x
expect_rc "an unknown key: exit 1" 1
check "an unknown key: file:line:col and the key" grep -q "^zagent-runtime: $WORK/bad.yaml:2:1: unknown field .cdi-spec-dir." <<<"$err"
check "an unknown key: the runtime is not run" test -z "$out"
printf 'runtime: %s\n' "$FAKE" > "$WORK/open.yaml"; chmod 0666 "$WORK/open.yaml"
run env ZAGENT_RUNTIME_CONFIG="$WORK/open.yaml" timeout 10 "$SHIM" state x
expect_rc "a world-writable config is refused" 1
check "a world-writable config: says why" grep -q "writable only by its owner" <<<"$err"
run env ZAGENT_RUNTIME_CONFIG="$WORK/missing.yaml" timeout 10 "$SHIM" state x
expect_rc "a missing named config: exit 1" 1
check "a missing named config: names it" grep -q "open .$WORK/missing.yaml.: No such file" <<<"$err"

# ---- NVIDIA device requests, on bundles --------------------------------------------
mkdir -p "$WORK/gpu-cdi"
cat > "$WORK/gpu-cdi/nvidia.yaml" <<Y
cdiVersion: "0.5.0"
kind: nvidia.com/gpu
devices:
  - name: "0"
    containerEdits:
      env: ["FAKE_GPU=0"]
  - name: GPU-0f5a3c1e-1111-2222-3333-444455556666
    containerEdits:
      env: ["FAKE_GPU=uuid"]
  - name: all
    containerEdits:
      env: ["FAKE_GPU=all"]
Y
GCONF=$WORK/gpu.yaml
printf 'runtime: /bin/true\ncdi-spec-dirs: [%s]\n' "$WORK/gpu-cdi" > "$GCONF"
gpu_case () { # gpu_case NAME ENV-VALUE CAPS WANT(FAKE_GPU value, or "none") [CONF]
  bundle "$WORK/g" '{}' "[\"PATH=/bin\",\"NVIDIA_VISIBLE_DEVICES=$2\"]" "$3"
  run env -u CDI_SPEC_DIRS ZAGENT_RUNTIME_CONFIG="${5:-$GCONF}" timeout 10 "$SHIM" create --bundle "$WORK/g" g
  local got
  got=$(grep -o '"FAKE_GPU=[^"]*"' "$WORK/g/config.json" | tr -d '"' | cut -d= -f2)
  check "$1" test "$rc:${got:-none}" = "${6:-0}:$4"
}
PRIV='["CAP_CHOWN","CAP_SYS_ADMIN"]' UNPRIV='["CAP_CHOWN","CAP_NET_RAW"]'
gpu_case "NVIDIA_VISIBLE_DEVICES=0, privileged: nvidia.com/gpu=0" 0 "$PRIV" 0
gpu_case "NVIDIA_VISIBLE_DEVICES=<uuid>, privileged: by UUID" GPU-0f5a3c1e-1111-2222-3333-444455556666 "$PRIV" uuid
gpu_case "NVIDIA_VISIBLE_DEVICES=all, privileged: nvidia.com/gpu=all" all "$PRIV" all
gpu_case "NVIDIA_VISIBLE_DEVICES=none: no device" none "$PRIV" none
gpu_case "NVIDIA_VISIBLE_DEVICES=void: no device" void "$PRIV" none
gpu_case "NVIDIA_VISIBLE_DEVICES=0, unprivileged: refused by default" 0 "$UNPRIV" none
check "unprivileged: the shim warns why" grep -q "NVIDIA_VISIBLE_DEVICES ignored: the container is unprivileged" <<<"$err"
printf 'accept-nvidia-visible-devices-envvar-when-unprivileged: true\n' >> "$GCONF"
gpu_case "unprivileged, accepted by the config" 0 "$UNPRIV" 0
gpu_case "NVIDIA_VISIBLE_DEVICES=7 (no such GPU), privileged: an error" 7 "$PRIV" none "$GCONF" 1
check "no such GPU: the error names it" grep -q "unresolvable CDI devices nvidia.com/gpu=7" <<<"$err"

# ---- under engines: a fake GPU node made here, in the fake nvidia spec -------------
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$WORK/dev"
  mknod "$WORK/dev/nvidia0" c 1 3   # a fake GPU node (the numbers of /dev/null)
  cat >> "$WORK/gpu-cdi/nvidia.yaml" <<Y
  - name: "1"
    containerEdits:
      env: ["FAKE_GPU=1"]
      deviceNodes:
        - {path: /dev/nvidia1, hostPath: $WORK/dev/nvidia0}
Y
fi
GPUCHECK='echo FAKE_GPU=$FAKE_GPU; if [ -c /dev/nvidia1 ]; then echo x > /dev/nvidia1 && echo HAS_GPU; else echo NO_GPU; fi'

# ---- podman (conmon drops the environment: the config file is the way in) ----------
if [ "$(id -u)" = 0 ] && command -v podman >/dev/null && command -v runc >/dev/null; then
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  mkdir -p "$WORK/home/.config/zagent"
  PCONF=$WORK/home/.config/zagent/runtime.yaml
  printf 'runtime: runc\ncdi-spec-dirs: [%s, %s]\nlog-file: %s\n' "$WORK/cdi" "$WORK/gpu-cdi" "$WORK/podman.log" > "$PCONF"
  pod () { # pod PODMAN-RUN-ARGS...: $out, $rc
    out=$(cd "$WORK" && env -u CDI_SPEC_DIRS -u ZAGENT_SHIM_RUNTIME -u ZAGENT_RUNTIME_CONFIG HOME="$WORK/home" \
          timeout 120 podman --runtime "$SHIM" run --rm --network none --ulimit nofile=1024:1024 \
          --ulimit nproc=4096:4096 "$@" 2>&1); rc=$?
  }
  pod --annotation "cdi.k8s.io/e2e=zagent.e2e/shim$$=dev0" --rootfs "$WORK/rootfs" \
    /bin/sh -c 'echo SHIM_DEVICE=$SHIM_DEVICE; echo x > /dev/shim0 && echo WROTE'
  check "podman: runs through the shim" test $rc = 0
  check "podman: spec dirs from the config file: the CDI env" grep -qx SHIM_DEVICE=dev0 <<<"$out"
  check "podman: the device node, writable" grep -qx WROTE <<<"$out"
  pod --annotation "cdi.k8s.io/e2e=zagent.e2e/nope=x" --rootfs "$WORK/rootfs" /bin/true
  check "podman: an unresolvable device fails the container" test $rc != 0
  check "podman: the shim's error reaches the user" grep -q "unresolvable CDI devices zagent.e2e/nope=x" <<<"$out"
  pod -e NVIDIA_VISIBLE_DEVICES=1 --rootfs "$WORK/rootfs" /bin/sh -c "$GPUCHECK"
  check "podman -e NVIDIA_VISIBLE_DEVICES=1, unprivileged: runs" test $rc = 0
  check "podman unprivileged: no GPU node" eval 'grep -qx NO_GPU <<<"$out" && grep -qx FAKE_GPU= <<<"$out"'
  check "podman unprivileged: the refusal is in the shim's log" grep -q '"level":"warning","msg":"NVIDIA_VISIBLE_DEVICES ignored' "$WORK/podman.log"
  pod --privileged -e NVIDIA_VISIBLE_DEVICES=1 --rootfs "$WORK/rootfs" /bin/sh -c "$GPUCHECK"
  check "podman --privileged -e NVIDIA_VISIBLE_DEVICES=1: runs" test $rc = 0
  check "podman privileged: the fake GPU node is there, writable" grep -qx HAS_GPU <<<"$out"
  check "podman privileged: the spec's env" grep -qx FAKE_GPU=1 <<<"$out"
  printf 'accept-nvidia-visible-devices-as-volume-mounts: true\n' >> "$PCONF"
  pod -v /dev/null:/var/run/nvidia-container-devices/1 --rootfs "$WORK/rootfs" /bin/sh -c "$GPUCHECK"
  check "podman: the volume-mount list, unprivileged: the GPU node" eval '[ $rc = 0 ] && grep -qx HAS_GPU <<<"$out"'
else
  skip "podman through the shim" "needs root, podman and runc"
fi

# ---- containerd 1.6: its own daemon, ctr run --runc-binary -------------------------
if [ "$(id -u)" = 0 ] && command -v containerd >/dev/null && command -v ctr >/dev/null && command -v runc >/dev/null; then
  C=$WORK/ctd
  mkdir -p "$C"
  [ -d "$WORK/rootfs" ] || "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  python3 "$here/mklayout.py" "$WORK/layout" "$WORK/rootfs" latest >/dev/null
  (cd "$WORK/layout" && tar cf "$WORK/busybox.tar" .)
  cat > "$C/config.toml" <<T
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$C/c.sock"
[ttrpc]
  address = "$C/t.sock"
[debug]
  address = "$C/d.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
T
  CCONF=$WORK/ctd-runtime.yaml
  printf 'cdi-spec-dirs: [%s, %s]\nlog-file: %s\n' "$WORK/cdi" "$WORK/gpu-cdi" "$WORK/ctd-shim.log" > "$CCONF"
  # containerd passes its environment to the shim and the runtime: the
  # config is named there, the spec dirs come from it.
  env -u CDI_SPEC_DIRS -u ZAGENT_SHIM_RUNTIME ZAGENT_RUNTIME_CONFIG="$CCONF" containerd --config "$C/config.toml" \
    > "$C/log" 2>&1 &
  CTD_PID=$!
  ctr_ () { timeout 60 ctr --address "$C/c.sock" -n "$NS" "$@"; }
  for _ in $(seq 100); do ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
  check "containerd started" eval "ctr_ version >/dev/null"
  ctr_ image import --snapshotter native --base-name zagent.test/busybox "$WORK/busybox.tar" >/dev/null 2>&1
  check "the busybox image imported" eval 'ctr_ image ls -q | grep -qx zagent.test/busybox:latest'
  crun_ () { # crun_ ID ARGS...: ctr run through the shim
    local id=$1; shift
    out=$(ctr_ run --rm --snapshotter native --runc-binary "$SHIM" --runc-root "$WORK/runc-root" "$@" 2>&1); rc=$?
  }
  crun_ zs-a$$ --annotation "cdi.k8s.io/e2e=zagent.e2e/shim$$=dev0" zagent.test/busybox:latest zs-a$$ \
    /bin/sh -c 'echo SHIM_DEVICE=$SHIM_DEVICE; echo x > /dev/shim0 && echo WROTE'
  check "containerd: ctr run --runc-binary zagent-runtime" test $rc = 0
  check "containerd: spec dirs from the config: the CDI env" grep -qx SHIM_DEVICE=dev0 <<<"$out"
  check "containerd: the device node, writable" grep -qx WROTE <<<"$out"
  crun_ zs-b$$ --annotation "cdi.k8s.io/e2e=zagent.e2e/nope=x" zagent.test/busybox:latest zs-b$$ /bin/true
  check "containerd: an unresolvable device fails the task" test $rc != 0
  check "containerd: the shim's error, read from log.json" \
    grep -q "OCI runtime create failed: unresolvable CDI devices zagent.e2e/nope=x" <<<"$out"
  check "containerd: not 'unable to retrieve OCI runtime error'" test -z "$(grep 'unable to retrieve' <<<"$out")"
  crun_ zs-c$$ --privileged --env NVIDIA_VISIBLE_DEVICES=1 zagent.test/busybox:latest zs-c$$ /bin/sh -c "$GPUCHECK"
  check "containerd --privileged NVIDIA_VISIBLE_DEVICES=1: the fake GPU" eval '[ $rc = 0 ] && grep -qx HAS_GPU <<<"$out"'
  crun_ zs-d$$ --env NVIDIA_VISIBLE_DEVICES=1 zagent.test/busybox:latest zs-d$$ /bin/sh -c "$GPUCHECK"
  check "containerd unprivileged NVIDIA_VISIBLE_DEVICES=1: no GPU" eval '[ $rc = 0 ] && grep -qx NO_GPU <<<"$out"'
  check "containerd: no task left" test -z "$(ctr_ tasks ls -q)"
else
  skip "containerd through the shim" "needs root, containerd, ctr and runc"
fi

finish
