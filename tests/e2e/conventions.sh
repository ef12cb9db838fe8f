#!/bin/bash
# CLI conventions (issue 10): options after operands, `--` ends options,
# the global --log-level/--debug, -q and --format on list commands, exit
# codes 0/1/2 of the non-run commands, and errors a user can act on (an
# unresolvable CDI device names the dirs searched and the broken files).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
WORK=$(mktemp -d /tmp/zagent-conv.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/runc
. "$here/lib.sh"
cleanup () {
  for c in $(runc --root "$RTROOT" list -q 2>/dev/null); do runc --root "$RTROOT" delete -f "$c" >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export USER=${USER:-tester}
args_of () { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["process"]["args"])' "$1"; }

S=$WORK/s.yaml
printf 'version: v1\ndeployment: conv\nservices:\n  conv%s:\n    image: {name: busybox}\n    command: {entrypoint: [/bin/sh, -c, "trap : TERM; while :; do sleep 0.1; done"]}\n    stop_grace_period: 1s\n' $$ > "$S"
ID=conv$$-rep-1

# ---- options after operands, `--` ---------------------------------------
run "$ZAGENT" stop "zz-none-$$" --time 1s
expect_rc "stop ID --time 1s: parsed (no such container: exit 2)" 2
check "stop ID --time 1s: the options after the ID are accepted" grep -q "no such container" <<<"$err"
run "$ZAGENT" rm "zz-none-$$" -f
check "rm ID -f: the option after the ID is accepted" grep -q "no such container" <<<"$err"
run "$ZAGENT" state "zz-none-$$" --help; expect_rc "state ID --help exits 0" 0
run "$ZAGENT" stop a b --time 1s; expect_rc "stop with two IDs exits 2" 2
check "... and says so" grep -q "expected one container ID" <<<"$err"
run "$ZAGENT" check "$S" -f "$S"; expect_rc "check: a stray operand is still an error" 2
run "$ZAGENT" check -f; expect_rc "check -f without a value exits 2" 2
check "... naming the option" grep -q 'option `-f` needs a value' <<<"$err"
run "$ZAGENT" spec -f "$S" --no-rootless -- /bin/echo --debug -f --log-level x
expect_rc "spec -- ARGS: what follows -- is not parsed" 0
check "... and becomes process.args verbatim" test "$(args_of "$out")" = "['/bin/echo', '--debug', '-f', '--log-level', 'x']"
run "$ZAGENT" spec -- -f "$S"; expect_rc "spec -- -f FILE: -f after -- is an arg, so -f is missing" 2
run "$ZAGENT" spec -f "$S" stray -- /bin/true; expect_rc "spec: an operand before -- is an error" 2
check "... that says where args go" grep -q "put the process args after --" <<<"$err"
run "$ZAGENT" spec --no-rootless -f "$S" --env A=1 --hostname h
expect_rc "spec: options in any order" 0

# ---- --log-level, --debug -------------------------------------------------
mkdir -p "$WORK/cdi"
printf 'cdiVersion: 0.3.0\nkind: example.com/good\ndevices:\n- name: a\n  containerEdits: {env: [A=1]}\n' > "$WORK/cdi/good.yaml"
printf 'cdiVersion: 0.3.0\nkind: example.com/bad\ndevices:\n- name: b\n' > "$WORK/cdi/broken.yaml"
for form in "--debug cdi list" "cdi list --debug" "--log-level debug cdi list" "cdi list --log-level=debug"; do
  run "$ZAGENT" $form --cdi-dir "$WORK/cdi"
  check "$form: a debug line naming the CDI dir, on stderr" grep -qx "zagent: debug: CDI spec dir \`$WORK/cdi\`" <<<"$err"
  check "$form: stdout unchanged" test "$out" = "example.com/good=a"
done
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi"
check "no debug line by default" bash -c '! grep -q "debug:" <<<"$1"' _ "$err"
run "$ZAGENT" cdi resolve example.com/good=a --cdi-dir "$WORK/cdi"
expect_rc "cdi resolve NAME --cdi-dir DIR (option after operand)" 0
check "warnings shown at the default level" grep -q "^warning: $WORK/cdi/broken.yaml:4:9: " <<<"$err"
run "$ZAGENT" --log-level error cdi resolve example.com/good=a --cdi-dir "$WORK/cdi"
check "--log-level error: no warnings" test -z "$err"
run "$ZAGENT" --log-level loud ps; expect_rc "--log-level with a bad level exits 2" 2
run "$ZAGENT" ps --log-level; expect_rc "--log-level without a value exits 2" 2
run "$ZAGENT" --help
check "--help documents --log-level and --debug" bash -c 'grep -q -- "--log-level LEVEL" <<<"$1" && grep -q -- "--debug" <<<"$1"' _ "$out"

# ---- list commands: -q, --format, --json ----------------------------------
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi"
expect_rc "cdi list with a broken file exits 2" 2
check "... still lists the good devices" test "$out" = "example.com/good=a"
check "... and names the broken file on stderr, positioned" grep -q "^$WORK/cdi/broken.yaml:4:9: failed add device" <<<"$err"
run "$ZAGENT" cdi list -q --cdi-dir "$WORK/cdi"
check "cdi list -q: names only" test "$out" = "example.com/good=a"
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi" --format json
check "cdi list --format json: devices and errors" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [x["name"] for x in d["devices"]]==["example.com/good=a"] and len(d["errors"])==1' "$out"
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi" --json
check "cdi list --json is --format json" python3 -c 'import json,sys; json.loads(sys.argv[1])["devices"]' "$out"
rm "$WORK/cdi/broken.yaml"
run "$ZAGENT" cdi list --cdi-dir "$WORK/cdi"; expect_rc "cdi list without broken files exits 0" 0
run "$ZAGENT" cdi list --format yaml; expect_rc "cdi list --format yaml exits 2" 2
run "$ZAGENT" cdi resolve -q x.com/a=b; expect_rc "-q is only for list commands" 2
run "$ZAGENT" ps -q; expect_rc "ps -q exits 0" 0
check "ps -q with no containers prints nothing" test -z "$out"
run "$ZAGENT" ps --format json; check "ps --format json: []" test "$out" = "[]"
run "$ZAGENT" ps --format table; check "ps --format table: the header" grep -q "^CONTAINER ID" <<<"$out"
run "$ZAGENT" ps -q --format json; expect_rc "ps -q --format json exits 2" 2
run "$ZAGENT" ps --format; expect_rc "ps --format without a value exits 2" 2
run "$ZAGENT" ps stray; expect_rc "ps with an operand exits 2" 2
for c in ps "cdi list" "gpu list"; do
  run "$ZAGENT" $c --help
  check "$c --help documents -q and --format" bash -c 'grep -q -- "-q" <<<"$1" && grep -q -- "--format" <<<"$1"' _ "$out"
done

# ---- an unresolvable CDI device: where zagent looked, and why -------------
printf 'cdiVersion: 0.3.0\nkind: example.com/bad\ndevices:\n- name: b\n' > "$WORK/cdi/broken.yaml"
run "$ZAGENT" bundle -f "$S" -b "$WORK/B" --device example.com/bad=b --cdi-dir "$WORK/cdi"
expect_rc "bundle with an unresolvable CDI device exits 2" 2
check "... names the device and the dirs searched" \
  grep -q "^zagent: unresolvable CDI devices example.com/bad=b (searched \`$WORK/cdi\`; the problems found there follow)$" <<<"$err"
check "... and the broken file with its error" grep -q "^$WORK/cdi/broken.yaml:4:9: failed add device \"b\"" <<<"$err"
check "... and nothing was created" test ! -e "$WORK/B"

# ---- exit codes of the non-run commands -----------------------------------
run "$ZAGENT" --help; check "--help states the exit codes" grep -q "Exit status: 0 ok, 2 invalid input, 1 system failure" <<<"$out"
run "$ZAGENT" check -f "$S"; expect_rc "check of a valid spec exits 0" 0
run "$ZAGENT" check -f "$WORK/missing.yaml"; expect_rc "check of a missing file exits 2 (input)" 2
run "$ZAGENT" frob --debug; expect_rc "an unknown command exits 2" 2

# ---- a real container: stop ID --time, rm ID -f -------------------------
if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "stop/rm with options after the ID on a real container" "needs root and runc"
else
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  run "$ZAGENT" run -f "$S" --rootfs "$WORK/rootfs" -d
  expect_rc "run -f FILE --rootfs DIR -d (the -d last)" 0
  run "$ZAGENT" ps -q; check "ps -q lists the container id" grep -qx "$ID" <<<"$out"
  run "$ZAGENT" stop "$ID" --time 1s; expect_rc "stop ID --time 1s exits 0" 0
  run "$ZAGENT" ps --json
  check "... and the container is stopped" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d[0]["status"]=="stopped", d' "$out"
  run "$ZAGENT" rm "$ID" -f; expect_rc "rm ID -f exits 0" 0
  run "$ZAGENT" ps -q; check "... and it is gone" test -z "$out"
  # run resolves CDI through the same pipeline as bundle (its exit status is run's own)
  run "$ZAGENT" run -f "$S" --rootfs "$WORK/rootfs" --device example.com/bad=b --cdi-dir "$WORK/cdi"
  check "run with an unresolvable CDI device fails" test "$rc" != 0
  check "... naming the dirs searched" grep -q "unresolvable CDI devices example.com/bad=b (searched \`$WORK/cdi\`" <<<"$err"
  check "... and the broken file" grep -q "^$WORK/cdi/broken.yaml:4:9: failed add device \"b\"" <<<"$err"
  run "$ZAGENT" ps -q; check "... and leaves no container" test -z "$out"
fi
finish
