#!/bin/bash
# Bad-input corpus (TAP).  Every case in cases.tsv must be rejected with
# exit status 2, nothing on stdout, exactly one error line — FILE:LINE:COL:
# … (FILE = the case file) when the case expects a position, else one
# `zagent…: …` or `/PATH: …` line; a usage hint line may follow — holding
# the expected text, and no change on disk: each case runs in a fresh work
# dir (also its cwd) holding a valid bundle, and the whole dir (names,
# types, modes, sizes, inodes, mtimes, link targets, file checksums) is
# compared before and after.  cases.tsv documents the placeholders.
#   tests/bad/run.sh [ZAGENT] [ID-GLOB]      (ZAGENT_BAD_JOBS: parallel jobs, default 2)
set -u
shopt -s extglob
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
pattern=${2:-*}
jobs=${ZAGENT_BAD_JOBS:-2}
WORK=$(mktemp -d /tmp/zagent-bad.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$root/tests/e2e/lib.sh"
unset ZAGENT_BAD_INPUT_UNSET_VAR
# No cgroup probing: the outcome must not depend on the host's layout.
export ZLAYER_CGROUP_PARENT=/zagent-bad-inputs
export LC_ALL=C

# ---- the template every case starts from -----------------------------------
T=$WORK/template
mkdir -p "$T/in" "$T/E" "$T/S/demo/web" "$WORK/c" "$WORK/res"
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

# snap DIR: one line per entry of DIR (itself included), then the
# checksum of every regular file.
snap () {
  find "$1" -printf '%P %y %m %s %i %T@ %l\n' , -type f -exec sha256sum {} + | sort
}

# run_case INDEX ID CMD WANT POS: writes $WORK/res/INDEX — "ok ID", or
# "not ok ID" and one diagnostic per line.
run_case () {
  local idx=$1 id=$2 cmd=$3 want=$4 pos=$5
  local W=$WORK/c/$id F=none F2=none f p v c rc before after d text l
  local -a args all lines problems=()
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
  CDI_SPEC_DIRS=$W/E ZLAYER_DATA_DIR=$W/data timeout 20 "$ZAGENT" "${args[@]}" >"$W.out" 2>"$W.err"
  rc=$?
  cd "$WORK"
  [ "$rc" = 2 ] || problems+=("exit status $rc, want 2")
  [ -s "$W.out" ] && problems+=("stdout not empty: $(head -c 200 "$W.out")")
  mapfile -t all < "$W.err"
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
    d=$(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -6 | tr '\n' ' ')
    if grep -q -e '^[<>] B[/ ]' -e " $W/B/" <<<"$d"; then problems+=("the existing bundle changed: $d")
    else problems+=("the work dir changed: $d"); fi
  fi
  {
    if [ "${#problems[@]}" = 0 ]; then
      echo "ok $id"
    else
      echo "not ok $id"
      printf '%s\n' "${problems[@]}" "command: zagent $c" "stderr: ${text:0:600}"
    fi
  } > "$WORK/res/$idx"
  rm -rf "$W" "$W.out" "$W.err"
}

# ---- run: JOBS shards in parallel, results printed in manifest order --------
mapfile -t manifest < <(grep -v -e '^#' -e '^$' "$here/cases.tsv")
for ((j = 0; j < jobs; j++)); do
  (
    for ((i = j; i < ${#manifest[@]}; i += jobs)); do
      IFS=$'\t' read -r id cmd want pos <<<"${manifest[i]}"
      [[ "$id" == $pattern ]] || continue
      run_case "$i" "$id" "$cmd" "$want" "$pos"
    done
  ) &
done
wait
ids=()
for ((i = 0; i < ${#manifest[@]}; i++)); do
  [ -f "$WORK/res/$i" ] || continue
  mapfile -t r < "$WORK/res/$i"
  id=${manifest[i]%%$'\t'*}
  case "$id" in *[!A-Za-z0-9._-]*) not_ok "case id '$id' has odd characters"; continue ;; esac
  [[ " ${ids[*]} " == *" $id "* ]] && not_ok "case $id is listed twice"
  ids+=("$id")
  if [ "${r[0]}" = "ok $id" ]; then ok "$id"; else not_ok "$id" "${r[@]:1}"; fi
done
if [ "$pattern" = '*' ]; then
  check "at least 150 cases" test "${#ids[@]}" -ge 150
  for f in "$here"/cases/*; do
    b=${f##*/}; b=${b%.*}; b=${b%.2}
    [[ " ${ids[*]} " == *" $b "* ]] || not_ok "cases/${f##*/} belongs to no case in cases.tsv"
  done
fi
finish
