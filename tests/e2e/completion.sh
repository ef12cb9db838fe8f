#!/bin/bash
# Bash completion (completions/zagent.bash): sourced into a plain bash, its
# function answers for commands, subcommands, options, option values and
# the container ids of `zagent ps` (a real detached container under runc
# when root and runc are there).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
COMPLETION=${2:-$root/completions/zagent.bash}
WORK=$(mktemp -d /tmp/zagent-compl.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/runc
. "$here/lib.sh"
ID=compl$$-rep-1
cleanup () {
  runc --root "$RTROOT" delete -f "$ID" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# complete WORD... : the completions of the last word (may be empty), one a line
complete_words () {
  bash --norc --noprofile -c '
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _zagent
    printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@"
}
has () { grep -qx -- "$1" <<<"$2"; }
lacks () { ! grep -qx -- "$1" <<<"$2"; }

check "the script registers a completion for zagent" \
  bash --norc --noprofile -c '. "$1" && complete -p zagent | grep -q "_zagent zagent"' _ "$COMPLETION"
out=$(complete_words "$ZAGENT" "")
# every command of `zagent --help` (a new command needs its line in the script)
cmds=$("$ZAGENT" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
check "zagent --help lists commands" test -n "$cmds"
for c in $cmds; do
  check "command '$c' is offered" has "$c" "$out"
done
out=$(complete_words "$ZAGENT" r)
check "'r' completes to rm, rmi and run only" test "$(sort <<<"$out" | tr '\n' ' ')" = "rm rmi run "
out=$(complete_words "$ZAGENT" cdi "")
check "cdi subcommands" test "$(grep -v '^-' <<<"$out" | sort | tr '\n' ' ')" = "check generate inject list resolve validate "
out=$(complete_words "$ZAGENT" run --)
for o in --file --rootfs --image --runtime --detach --keep --cdi-dir --rootless; do
  check "run option $o" has "$o" "$out"
done
out=$(complete_words "$ZAGENT" spec --)
check "spec has no run-only options" lacks --detach "$out"
out=$(complete_words "$ZAGENT" cdi generate --vendor "")
check "--vendor values" test "$(sort <<<"$out" | tr '\n' ' ')" = "amd intel nvidia "
out=$(complete_words "$ZAGENT" run --runtime c)
check "--runtime values" has crun "$out"
mkdir -p "$WORK/specs" && touch "$WORK/specs/deploy.yaml"
out=$(complete_words "$ZAGENT" check -f "$WORK/specs/de")
check "-f completes file names" has "$WORK/specs/deploy.yaml" "$out"
out=$(complete_words "$ZAGENT" run -s web --rootfs "$WORK/sp")
check "--rootfs completes directories" has "$WORK/specs" "$out"
out=$(complete_words "$ZAGENT" stop --)
check "stop options" has --time "$out"

if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "container ids from zagent ps" "needs root and runc"
else
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  printf 'version: v1\ndeployment: compl\nservices:\n  compl%s:\n    image: {name: busybox}\n    command: {entrypoint: ["/bin/sh", "-c", "sleep 60"]}\n' $$ >"$WORK/c.yaml"
  "$ZAGENT" run -d -f "$WORK/c.yaml" --rootfs "$WORK/rootfs" >/dev/null 2>"$WORK/err"
  check "a detached container to complete" grep -qx "$ID" <<<"$("$ZAGENT" ps 2>/dev/null | awk 'NR > 1 { print $1 }')"
  out=$(complete_words "$ZAGENT" stop "")
  check "stop completes the running container's id" has "$ID" "$out"
  out=$(complete_words "$ZAGENT" rm -f "compl")
  check "rm -f completes ids, not files" test "$out" = "$ID"
  out=$(complete_words "$ZAGENT" state "nomatch")
  check "no id matches 'nomatch'" test -z "$out"
  "$ZAGENT" rm -f "$ID" >/dev/null 2>&1
fi
finish
