#!/bin/bash
# Load tests: many zagent processes at once.
#   (a) 200 `zagent bundle` runs, 50 at a time, into distinct directories;
#       then 200 more, 50 at a time, all into ONE directory (two specs
#       alternating): every run succeeds, the result is one complete
#       config.json and no temp file is left.
#   (b) as root with runc: 50 `zagent run` containers at once; all exit 0
#       with their own output, and nothing is left behind (runtime state,
#       bundles, state records, cgroups, zombies).
#   (c) under valgrind (leaks, open fds at exit): zagent spec, zagent
#       bundle and (as root with runc) zagent run.
# Usage: load.sh ZAGENT [KILLER]   (TAP)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
KILLER=$(realpath "${2:-$(dirname "$ZAGENT")/tests/killer}")
SHARED=${SHARED:-$(realpath -m "$root/../shared")}
WORK=$(mktemp -d /tmp/zagent-load.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/runc
SVC=load-$$ # container ids <SVC>-rep-N: unique on the host (cgroups are global)
. "$root/tests/e2e/lib.sh"
cleanup () {
  for c in $(runc --root "$RTROOT" list -q 2>/dev/null); do runc --root "$RTROOT" delete -f "$c" >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# A private copy: a rebuild of the tree meanwhile must not swap the binary.
cp "$ZAGENT" "$WORK/zagent" && ZAGENT=$WORK/zagent
shopt -s nullglob dotglob
now () { date +%s.%N; }
since () { python3 -c "import sys; print('%.1f' % ($(now) - $1))"; }

spec () { # spec FILE SCRIPT [extra yaml]
  { printf 'version: v1\ndeployment: load\nservices:\n  %s:\n    image: {name: busybox}\n' "$SVC"
    printf '    command:\n      entrypoint: ["/bin/sh", "-c", %s]\n' \
      "$(printf '%s' "$2" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"
    [ $# -gt 2 ] && printf '%s\n' "$3"; } >"$1"
}
spec "$WORK/a.yaml" 'echo A' '    dns: ["10.0.0.1"]'
spec "$WORK/b.yaml" 'echo B' '    dns: ["10.0.0.2"]
    env:
      WHICH: b'
have_validator=false
[ -x "$SHARED/tools/validate-oci-config" ] && have_validator=true

# ---- (a) 200 bundles in parallel, distinct directories ------------------------
t=$(now)
seq 200 | xargs -P 50 -I{} "$ZAGENT" bundle -f "$WORK/a.yaml" -r {} -b "$WORK/par/{}" \
  >/dev/null 2>"$WORK/par.err"
rc=$?
secs=$(since "$t")
echo "# 200 zagent bundle runs, 50 at a time: ${secs}s"
check "200 parallel zagent bundle runs all exit 0" test $rc = 0
check "no errors or warnings from them" test ! -s "$WORK/par.err"
check "every bundle is complete and carries its own container id" python3 - "$WORK/par" "$SVC" <<'PY'
import json, os, stat, sys
base, svc = sys.argv[1:]
for i in range(1, 201):
    d = f"{base}/{i}"
    c = json.load(open(f"{d}/config.json"))
    cid = f"{svc}-rep-{i}"
    assert c["hostname"] == cid, (d, c["hostname"])
    assert c["linux"]["cgroupsPath"].endswith("/" + cid), (d, c["linux"]["cgroupsPath"])
    assert stat.S_IMODE(os.stat(f"{d}/config.json").st_mode) == 0o600, d
    assert open(f"{d}/resolv.conf").read().startswith("nameserver 10.0.0.1"), d
    assert sorted(os.listdir(d)) == ["config.json", "resolv.conf", "rootfs"], (d, os.listdir(d))
PY
if $have_validator; then
  bad=()
  for i in $(seq 10 10 200); do validate "$WORK/par/$i" >/dev/null 2>&1 || bad+=("$i"); done
  if [ ${#bad[@]} = 0 ]; then ok "a sample of 20 bundles validates against the OCI schema"
  else not_ok "a sample of 20 bundles validates against the OCI schema" "invalid: ${bad[*]}"
  fi
else
  skip "a sample of 20 bundles validates against the OCI schema" "no $SHARED/tools/validate-oci-config"
fi

# ---- (a) 200 builds, 50 at a time, into one directory ---------------------------
S=$WORK/same
for v in a b; do
  "$ZAGENT" bundle -f "$WORK/$v.yaml" -b "$S" >/dev/null && cp "$S/config.json" "$WORK/expect-$v.json"
done
mkdir -p "$WORK/ab" && ln -s ../a.yaml "$WORK/ab/1.yaml" && ln -s ../b.yaml "$WORK/ab/0.yaml"
t=$(now)
seq 200 | xargs -P 50 -I{} sh -c 'exec "$1" bundle -f "$2/$(( $3 % 2 )).yaml" -b "$4"' sh \
  "$ZAGENT" "$WORK/ab" {} "$S" >/dev/null 2>"$WORK/same.err"
rc=$?
secs=$(since "$t")
echo "# 200 zagent bundle runs into one directory, 50 at a time: ${secs}s"
check "200 concurrent builds of one bundle directory all exit 0" test $rc = 0
check "no errors from them" test ! -s "$WORK/same.err"
check "the result is exactly spec A's or spec B's config.json" \
  bash -c "cmp -s '$S/config.json' '$WORK/expect-a.json' || cmp -s '$S/config.json' '$WORK/expect-b.json'"
left=("$S"/.*.tmp)
if [ ${#left[@]} = 0 ]; then ok "no temp files left by concurrent builders"
else not_ok "no temp files left by concurrent builders" "left: ${left[*]##*/}"
fi

# ---- (b) 50 containers at once ----------------------------------------------------
zombies () { ps -eo stat= | grep -c '^Z'; }
can_run=false
if [ "$(id -u)" = 0 ] && command -v runc >/dev/null && command -v busybox >/dev/null && [ -x "$KILLER" ]; then
  can_run=true
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  R=$WORK/rootfs
fi
if $can_run; then
  spec "$WORK/run.yaml" 'echo ok-$ID; sleep 0.5'
  mkdir -p "$WORK/out"
  cat >"$WORK/run50.sh" <<'EOF'
Z=$1 spec=$2 R=$3 out=$4
for i in $(seq 50); do
  "$Z" run -f "$spec" --rootfs "$R" -r "$i" --env "ID=$i" >"$out/$i.out" 2>"$out/$i.err" &
  pids[i]=$!
done
for i in $(seq 50); do wait "${pids[i]}"; echo $? >"$out/$i.rc"; done
EOF
  z0=$(zombies)
  t=$(now)
  # Under a child subreaper: whatever zagent, runc or a container leaves
  # running or unreaped is reparented to the helper, which reports it.
  "$KILLER" reap 3000 -- bash "$WORK/run50.sh" "$ZAGENT" "$WORK/run.yaml" "$R" "$WORK/out" >"$WORK/reap.out"
  secs=$(since "$t")
  echo "# 50 concurrent zagent run containers (each: echo; sleep 0.5): ${secs}s"
  bad_rc=() bad_out=()
  for i in $(seq 50); do
    rc=$(cat "$WORK/out/$i.rc" 2>/dev/null)
    [ "$rc" = 0 ] || bad_rc+=("$i: exit ${rc:-?}: $(head -c 300 "$WORK/out/$i.err")")
    [ "$(cat "$WORK/out/$i.out")" = "ok-$i" ] || bad_out+=("$i: $(head -c 100 "$WORK/out/$i.out")")
  done
  if [ ${#bad_rc[@]} = 0 ]; then ok "50 concurrent zagent run containers all exit 0"
  else not_ok "50 concurrent zagent run containers all exit 0" "${bad_rc[@]:0:5}"
  fi
  if [ ${#bad_out[@]} = 0 ]; then ok "each printed its own ok-ID and nothing else on stdout"
  else not_ok "each printed its own ok-ID and nothing else on stdout" "${bad_out[@]:0:5}"
  fi
  run runc --root "$RTROOT" list -q
  check "no containers left in the runtime" test -z "$out"
  b=("$ZLAYER_DATA_DIR"/bundles/*)
  check "no bundles left (${#b[@]})" test ${#b[@]} = 0
  s=("$ZLAYER_DATA_DIR"/run/containers/*)
  check "no state records left (${#s[@]})" test ${#s[@]} = 0
  cg=(/sys/fs/cgroup/*/zlayer/"$SVC"-rep-* /sys/fs/cgroup/*/*/zlayer/"$SVC"-rep-*)
  if [ ${#cg[@]} = 0 ]; then ok "no cgroup directories left"
  else not_ok "no cgroup directories left" "${cg[@]:0:5}"
  fi
  if grep -qx "orphans 0" "$WORK/reap.out"; then ok "no process left behind, running or as a zombie"
  else not_ok "no process left behind, running or as a zombie" "$(cat "$WORK/reap.out")"
  fi
  # Host-wide zombies: other processes' come and go, so for information.
  for try in $(seq 30); do z1=$(zombies); [ "$z1" -le "$z0" ] && break; sleep 0.1; done
  echo "# zombie processes on the host: $z0 before, $z1 after"
else
  skip "50 concurrent zagent run containers" "needs root, runc, busybox and the killer helper"
fi

# ---- (c) valgrind: leaks and fds ------------------------------------------------------
# vg NAME ARGS...: run zagent under valgrind; memory errors and leaks (exit
# 99) and any fd open at exit that zagent opened itself fail.
vg () {
  local name=$1; shift
  local log=$WORK/vg-$name.log
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --track-fds=yes --log-file="$log" "$ZAGENT" "$@" >"$WORK/vg-$name.out" 2>"$WORK/vg-$name.err"
  rc=$?
  if [ $rc = 0 ]; then ok "valgrind: zagent $name: no memory errors or leaks"
  else not_ok "valgrind: zagent $name: no memory errors or leaks" "exit $rc" "$(grep -v '^==[0-9]*== *$' "$log" | head -20)" \
    "stderr: $(head -c 300 "$WORK/vg-$name.err")"
  fi
  # Valgrind lists every fd open at exit; ours are those not inherited.
  local fds
  fds=$(python3 - "$log" <<'PY'
import re, sys
lines = [re.sub(r"^==\d+== ?", "", l.rstrip("\n")) for l in open(sys.argv[1])]
out = []
for i, l in enumerate(lines):
    m = re.match(r"Open .*?(\d+):", l)
    if not m or int(m.group(1)) <= 2:
        continue
    if i + 1 < len(lines) and "<inherited from parent>" in lines[i + 1]:
        continue
    out.append(l)
print("; ".join(out))
PY
)
  if grep -q "FILE DESCRIPTORS:" "$log" && [ -z "$fds" ]; then ok "valgrind: zagent $name: no fd left open beyond stdio"
  else not_ok "valgrind: zagent $name: no fd left open beyond stdio" "open at exit: ${fds:-(no fd report)}"
  fi
}
if command -v valgrind >/dev/null; then
  vg spec spec -f "$WORK/a.yaml"
  check "valgrind: zagent spec printed spec A's config" \
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["process"]["args"][-1]=="echo A"' "$WORK/vg-spec.out"
  vg bundle bundle -f "$WORK/b.yaml" -b "$WORK/vgbundle"
  check "valgrind: zagent bundle wrote spec B's config" cmp -s "$WORK/vgbundle/config.json" \
    <(sed "s#$S/resolv.conf#$WORK/vgbundle/resolv.conf#" "$WORK/expect-b.json")
  if $can_run; then
    vg run run -f "$WORK/run.yaml" --rootfs "$R" -r 999 --env ID=999
    check "valgrind: zagent run passed the container's output through" test "$(cat "$WORK/vg-run.out")" = ok-999
    run runc --root "$RTROOT" list -q
    check "valgrind: nothing left of the container" test -z "$out" -a ! -e "$ZLAYER_DATA_DIR/bundles/$SVC-rep-999"
  else
    skip "valgrind: zagent run" "needs root, runc and busybox"
  fi
else
  skip "valgrind: leaks and fds" "valgrind not installed"
fi
finish
