#!/bin/bash
# Bad-input corpus (TAP): every case in cases.tsv must be rejected with
# exit status 2, nothing on stdout, one error line (FILE:LINE:COL: … when
# the case expects a position, else one `zagent…: …` / `PATH: …` line,
# optionally followed by a usage hint), the expected text, and no change
# on disk: each case runs in a fresh work dir holding a valid bundle, and
# the whole dir (names, types, modes, sizes, mtimes, inodes, contents) is
# compared before and after.
#   tests/bad/run.sh [ZAGENT] [ID-PATTERN]
set -u
shopt -s extglob
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
pattern=${2:-}
WORK=$(mktemp -d /tmp/zagent-bad.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$root/tests/e2e/lib.sh"
unset ZAGENT_BAD_INPUT_UNSET_VAR ZLAYER_CGROUP_PARENT
export LC_ALL=C

# ---- the template every case starts from -----------------------------------
T=$WORK/template
mkdir -p "$T/in" "$T/E" "$T/S/demo/web"
printf 'version: v1\ndeployment: demo\nservices:\n  web:\n    image: {name: nginx}\n' > "$T/good.yaml"
if ! (cd "$T" && "$ZAGENT" bundle -f good.yaml -b "$T/B" >/dev/null 2>"$WORK/template.err"); then
  not_ok "build the template bundle" "$(cat "$WORK/template.err")"
  finish
  exit 1
fi
ln -s B "$T/L"
ln -s /nonexistent/zagent-bad-input "$T/X"
printf 'value' > "$T/S/demo/plain"
printf 'a\0b' > "$T/S/demo/nul"
printf 'not json' > "$T/S/demo/notjson"
printf '{"a": 1}' > "$T/S/demo/json"

# snap DIR: one line per entry of DIR (itself included: name, type, mode,
# size, inode, mtime, link target), then a checksum of every regular file.
snap () {
  find "$1" -printf '%P %y %m %s %i %T@ %l\n' , -type f -exec sha256sum {} + | sort
}

mkdir "$WORK/c"
while IFS=$'\t' read -r id cmd want pos; do
  case "$id" in ''|'#'*) continue ;; esac
  [ -n "$pattern" ] && [[ "$id" != $pattern ]] && continue
  W=$WORK/c/$id
  cp -a "$T" "$W"
  F=$W/in/none F2=$W/in/none
  for f in "$here/cases/$id".*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.2.*) F2=$W/in/${f##*/}; cp "$f" "$F2" ;;
      *) F=$W/in/${f##*/}; cp "$f" "$F" ;;
    esac
  done
  c=$cmd
  for p in F2:"$F2" F:"$F" D:"$W/in" G:"$W/good.yaml" B:"$W/B" L:"$W/L" N:"$W/new" E:"$W/E" X:"$W/X" S:"$W/S"; do
    printf -v v '%q' "${p#*:}"
    c=${c//\{${p%%:*}\}/$v}
  done
  eval "args=($c)"
  before=$(snap "$W")
  cd "$W"
  CDI_SPEC_DIRS=$W/E ZLAYER_DATA_DIR=$W/data timeout 20 "$ZAGENT" "${args[@]}" >"$WORK/out" 2>"$WORK/err"
  rc=$?
  cd "$WORK"
  problems=()
  [ "$rc" = 2 ] || problems+=("exit status $rc, want 2")
  [ -s "$WORK/out" ] && problems+=("stdout not empty: $(head -c 200 "$WORK/out")")
  # Error lines: usage hints aside, exactly one, in the expected shape.
  mapfile -t all < "$WORK/err"
  lines=()
  for l in "${all[@]}"; do
    [[ "$l" == "Try 'zagent "*" --help'." || "$l" == "Run 'zagent --help' for the list of commands." ]] || lines+=("$l")
  done
  if [ "${#lines[@]}" != 1 ]; then
    problems+=("${#lines[@]} error lines, want 1")
  elif [ "$pos" = yes ]; then
    [[ "${lines[0]}" == "$F":+([0-9]):+([0-9]):\ ?* ]] || problems+=("not FILE:LINE:COL: message")
  else
    [[ "${lines[0]}" =~ ^(zagent( [a-z]+)*|/[^:]+):\ [^\ ] ]] || problems+=("not 'zagent: message' or 'PATH: message'")
    [[ "${lines[0]}" =~ ^[^:]*:[0-9]+:[0-9]+:\  ]] && problems+=("has a position, the case expects none")
  fi
  IFS=$'\n'; text="${all[*]}"; unset IFS
  [[ "$text" == *"$want"* ]] || problems+=("stderr lacks: $want")
  after=$(snap "$W")
  if [ "$after" != "$before" ]; then
    d=$(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -4 | tr '\n' ' ')
    if grep -q -e '^[<>] B[/ ]' -e " $W/B/" <<<"$d"; then problems+=("the existing bundle changed: $d")
    else problems+=("the work dir changed: $d"); fi
  fi
  if [ "${#problems[@]}" = 0 ]; then
    ok "$id"
  else
    not_ok "$id" "${problems[@]}" "command: zagent $c" "stderr: ${text:0:600}"
  fi
  rm -rf "$W"
done < "$here/cases.tsv"
finish
