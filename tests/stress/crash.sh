#!/bin/bash
# Crash safety of `zagent bundle`: rebuild one bundle directory CRASH_ITERS
# times (default 2000), alternating between two specs whose config.json
# differ, SIGKILLing each run after a random delay between 0 and the median
# duration of a run.  After every kill config.json must be exactly one of
# the two complete documents, mode 0600, resolv.conf one of the two, and at
# most one temp file (the killed run's) may be left; the next build removes
# it.  Usage: crash.sh ZAGENT [KILLER]   (TAP)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
KILLER=$(realpath "${2:-$(dirname "$ZAGENT")/tests/killer}")
SHARED=${SHARED:-$(realpath -m "$root/../shared")}
ITERS=${CRASH_ITERS:-2000}
WORK=$(mktemp -d /tmp/zagent-crash.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
. "$root/tests/e2e/lib.sh"
trap 'rm -rf "$WORK"' EXIT
shopt -s nullglob dotglob

if [ ! -x "$KILLER" ]; then
  not_ok "killer helper built" "missing $KILLER"; finish; exit
fi

# A private copy: a rebuild of the tree during the loop must not swap the
# binary under it.
cp "$ZAGENT" "$WORK/zagent" && ZAGENT=$WORK/zagent

D=$WORK/bundle
for v in A B; do
  case $v in A) ip=10.0.0.1 ;; B) ip=10.0.0.2 ;; esac
  cat >"$WORK/$v.yaml" <<EOF
version: v1
deployment: crash
services:
  web:
    image: {name: busybox}
    command:
      entrypoint: ["/bin/sh", "-c", "echo spec-$v"]
    env:
      WHICH: "$v"
    dns: ["$ip"]
EOF
done

# ---- expectations: one clean build of each into the same directory ------
for v in A B; do
  run "$ZAGENT" bundle -f "$WORK/$v.yaml" -b "$D"
  expect_rc "clean build of spec $v" 0
  cp "$D/config.json" "$WORK/expect-$v.json"
  cp "$D/resolv.conf" "$WORK/expect-$v.resolv"
  "$ZAGENT" spec -f "$WORK/$v.yaml" >"$WORK/spec-$v.json"
done
check "expected config.json files parse, differ, and match zagent spec (resolv.conf source = $D/resolv.conf)" \
  python3 - "$WORK" "$D" <<'PY'
import json, sys
w, d = sys.argv[1:]
docs = {}
for v in "AB":
    raw = open(f"{w}/expect-{v}.json").read()
    doc = json.loads(raw)
    spec = json.loads(open(f"{w}/spec-{v}.json").read())
    for m in spec["mounts"]:
        if m["destination"] == "/etc/resolv.conf":
            assert m["source"] == "./resolv.conf", m
            m["source"] = d + "/resolv.conf"
    assert doc == spec, f"bundle config {v} differs from zagent spec"
    assert any(m["destination"] == "/etc/resolv.conf" for m in doc["mounts"]), "no resolv.conf mount"
    docs[v] = raw
assert docs["A"] != docs["B"]
PY
check "expected resolv.conf files differ" bash -c "! cmp -s '$WORK/expect-A.resolv' '$WORK/expect-B.resolv'"
IFS= read -r -d '' EA <"$WORK/expect-A.json"
IFS= read -r -d '' EB <"$WORK/expect-B.json"
IFS= read -r -d '' RA <"$WORK/expect-A.resolv"
IFS= read -r -d '' RB <"$WORK/expect-B.resolv"

# ---- how long one build takes --------------------------------------------
median=$("$KILLER" measure 21 -- "$ZAGENT" bundle -f "$WORK/A.yaml" -b "$D") || median=
check "median duration of one build measured (${median:-?} us)" test -n "$median"
[ -n "$median" ] || { finish; exit; }
echo "# median zagent bundle run: $median us; kill delay uniform in [0, $median] us"

# ---- the kill loop ---------------------------------------------------------
# cur: what config.json holds now; each run builds the other spec.
cur=A curr=A
seed=${CRASH_SEED:-$$}
RANDOM=$seed
exited=0 unchanged=0 midwrite=0 replaced=0 torn=0 tornstate=0 maxtmp=0
errs=()
fail () { [ ${#errs[@]} -lt 5 ] && errs+=("iteration $i (target $tgt, delay ${delay}us): $*"); }
t0=$(date +%s.%N)
prev_tmps=" "
for ((i = 1; i <= ITERS; i++)); do
  [ $cur = A ] && tgt=B || tgt=A
  delay=$(( (RANDOM * 32768 + RANDOM) % (median + 1) ))
  res=$("$KILLER" kill "$delay" -- "$ZAGENT" bundle -f "$WORK/$tgt.yaml" -b "$D" 2>/dev/null)
  case $res in
    killed) ;;
    "exited 0") exited=$((exited + 1)) ;;
    *) fail "zagent bundle: $res" ;;
  esac
  got= gotr=
  if ! IFS= read -r -d '' got <"$D/config.json" && [ -z "$got" ]; then
    fail "config.json missing or empty"; break
  fi
  IFS= read -r -d '' gotr <"$D/resolv.conf"
  if [ "$got" == "$EA" ]; then now=A
  elif [ "$got" == "$EB" ]; then now=B
  else fail "config.json is neither A nor B ($(printf %s "$got" | wc -c) bytes)"; break
  fi
  if [ "$gotr" == "$RA" ]; then nowr=A
  elif [ "$gotr" == "$RB" ]; then nowr=B
  else fail "resolv.conf is neither A nor B: $(printf %q "$gotr")"; break
  fi
  modes=$(stat -c %a "$D/config.json" "$D/resolv.conf" | tr '\n' ' ')
  [ "$modes" = "600 644 " ] || fail "modes (config.json resolv.conf): $modes"
  tmps=("$D"/.config.json.*.tmp "$D"/.resolv.conf.*.tmp)
  [ ${#tmps[@]} -gt "$maxtmp" ] && maxtmp=${#tmps[@]}
  [ ${#tmps[@]} -le 1 ] || fail "${#tmps[@]} temp files: ${tmps[*]##*/}"
  if [ "$res" = killed ]; then
    if [ $now = "$tgt" ]; then replaced=$((replaced + 1))
    else
      # mid-write: this run left a temp file, or replaced resolv.conf
      # but not yet config.json
      new=0
      for t in "${tmps[@]}"; do [[ $prev_tmps == *" $t "* ]] || new=1; done
      [ "$nowr" != "$curr" ] && { new=1; torn=$((torn + 1)); }
      [ $new = 1 ] && midwrite=$((midwrite + 1)) || unchanged=$((unchanged + 1))
    fi
  elif [ "$res" = "exited 0" ] && [ $now != "$tgt" ]; then
    fail "a completed build left config.json at $now"
  fi
  [ $now = "$nowr" ] || tornstate=$((tornstate + 1))
  prev_tmps=" ${tmps[*]} "
  cur=$now curr=$nowr
done
iters=$((i > ITERS ? ITERS : i))
t1=$(date +%s.%N)
secs=$(python3 -c "print('%.1f' % ($t1 - $t0))")
if [ ${#errs[@]} = 0 ]; then
  ok "$iters SIGKILLed builds: config.json always complete A or B, mode 0600; resolv.conf always A or B; at most one temp file left"
else
  not_ok "$iters SIGKILLed builds: config.json always complete A or B, mode 0600; resolv.conf always A or B; at most one temp file left" "${errs[@]}"
fi
killed=$((unchanged + midwrite + replaced))
echo "# $iters iterations in ${secs}s (seed $seed, delay 0..${median}us)"
echo "# finished before the kill: $exited"
echo "# killed: $killed = $unchanged before writing (config unchanged, no temp file)"
echo "#                 + $midwrite mid-write (config unchanged; a temp file left, or resolv.conf replaced)"
echo "#                 + $replaced after the config.json rename (config changed)"
echo "#   of the mid-write kills, $torn fell between the resolv.conf and the config.json rename:"
echo "#   the bundle then holds the old config.json with the new resolv.conf (true after"
echo "#   $tornstate of the $iters iterations) until the next complete build"
echo "# most temp files seen after a kill: $maxtmp"
check "some kills landed mid-write and some after the commit (the test exercised both sides)" \
  test $midwrite -gt 0 -a $replaced -gt 0 -o "$ITERS" -lt 200

# ---- one clean build afterwards --------------------------------------------
run "$ZAGENT" bundle -f "$WORK/A.yaml" -b "$D"
expect_rc "a clean build after the kills succeeds" 0
check "it produced spec A's config.json exactly" cmp -s "$D/config.json" "$WORK/expect-A.json"
check "and spec A's resolv.conf" cmp -s "$D/resolv.conf" "$WORK/expect-A.resolv"
left=("$D"/.config.json.*.tmp "$D"/.resolv.conf.*.tmp)
if [ ${#left[@]} = 0 ]; then ok "no temp files remain after a clean build"
else
  names=("${left[@]##*/}")
  not_ok "no temp files remain after a clean build" "${#left[@]} left: ${names[*]:0:10}"
fi
entries=("$D"/*)
if [ "${entries[*]##*/}" = "config.json resolv.conf rootfs" ]; then
  ok "bundle directory holds only config.json, resolv.conf, rootfs"
else
  not_ok "bundle directory holds only config.json, resolv.conf, rootfs" "${#entries[@]} entries"
fi
if [ -x "$SHARED/tools/validate-oci-config" ]; then
  check "config.json validates against the OCI schema" validate "$D"
else
  skip "config.json validates against the OCI schema" "no $SHARED/tools/validate-oci-config"
fi
# The loop is meant to take well under 90 s on 2 idle cores (about 20 s);
# a loaded host stretches every run, so the time is reported, not judged.
python3 -c "import sys; sys.exit(not $secs < 90)" ||
  echo "# note: the kill loop took ${secs}s, over the 90 s target (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
finish
