#!/bin/bash
# The man pages (docs/man/*.scd, built by scdoc) render with man -l without
# a groff or man warning, name their program, and zagent(1) has a section
# for every command of `zagent --help`.
# Usage: man.sh ZAGENT [BUILT MAN PAGE...]   (no pages: scdoc was not found)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
shift
WORK=$(mktemp -d /tmp/zagent-man.XXXXXX)
. "$here/lib.sh"
trap 'rm -rf "$WORK"' EXIT
sections () { grep -qx NAME "$1" && grep -qx DESCRIPTION "$1" && grep -qx "SEE ALSO" "$1"; }

if [ $# = 0 ]; then
  skip "man pages" "not built (scdoc not found)"; finish; exit
fi
if ! command -v man >/dev/null; then
  skip "man pages" "man not installed (Debian package man-db)"; finish; exit
fi
for page in "$@"; do
  name=$(basename "$page")
  MANWIDTH=80 LC_ALL=C.UTF-8 man -l --warnings "$page" >"$WORK/$name.txt" 2>"$WORK/$name.err"; rc=$?
  check "$name renders (man -l exits 0)" test $rc = 0
  check "$name renders without warnings" test ! -s "$WORK/$name.err"
  [ -s "$WORK/$name.err" ] && sed 's/^/#   /' "$WORK/$name.err" | head -5
  check "$name has NAME, DESCRIPTION and SEE ALSO" sections "$WORK/$name.txt"
done
t=$WORK/zagent.1.txt
if [ -f "$t" ]; then
  cmds=$("$ZAGENT" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
  check "zagent --help lists commands" test -n "$cmds"
  for c in $cmds; do
    check "zagent(1) documents 'zagent $c'" grep -q "^   zagent $c\$" "$t"
  done
  # every long option of every command's --help appears in the page
  missing=""
  for c in $cmds; do
    for o in $("$ZAGENT" $c --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
      grep -qe "$o" "$t" || missing="$missing $c:$o"
    done
  done
  check "zagent(1) documents every long option of the CLI${missing:+ (missing:$missing)}" test -z "$missing"
fi
finish
