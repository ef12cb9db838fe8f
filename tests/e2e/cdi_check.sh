#!/bin/bash
# End-to-end tests of issue 14's `cdi generate` options and `cdi check`, on
# fake hosts (tests/fakehost/mkhost.sh, ZAGENT_HOST_ROOT): MIG devices, IMEX
# channels, --device-name-strategy, --format yaml, --no-all-device, the
# zagent-cdi-hook hooks, --refresh; every generated spec validated by
# `zagent cdi validate`/`cdi list` and by the reference CDI oracle; `cdi
# check` on specs made stale on purpose (renamed library, changed major,
# missing node, missing hook).  Needs root (mknod).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
HOOK=$(dirname "$ZAGENT")/zagent-cdi-hook
WORK=$(mktemp -d /tmp/zagent-cdichk.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$here/lib.sh"
export CDI_SPEC_DIRS=$WORK/no-cdi
mkdir -p "$CDI_SPEC_DIRS"
unset ZAGENT_HOST_ROOT

if [ "$(id -u)" != 0 ]; then
  skip "cdi generate/check end-to-end tests" "fake GPU hosts need root (mknod)"
  finish; exit $?
fi
pyjson () { # pyjson FILE EXPR (EXPR sees `c`)
  python3 - "$1" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
sys.exit(0 if eval('(' + sys.argv[2] + ')') else 1)
PY
}
ORACLE=${CDI_ORACLE:-$(dirname "$ZAGENT")/tests/cdi-oracle}
[ -x "$ORACLE" ] && "$ORACLE" --versions >/dev/null 2>&1 || ORACLE=""
oracle_ok () { # oracle_ok NAME FILE: the oracle validates FILE and lists what zagent lists
  if [ -z "$ORACLE" ]; then skip "oracle: $1" "cdi-oracle not built"; skip "oracle lists: $1" "cdi-oracle not built"; return; fi
  local d=$WORK/oracle-dir; rm -rf "$d"; mkdir -p "$d"; cp "$2" "$d/"
  run "$ORACLE" --validate "$2"
  if [ "$rc" = 0 ] && grep -q "^VALID " <<<"$out"; then ok "oracle validates: $1"; else not_ok "oracle validates: $1" "$out" "$err"; fi
  local mine; mine=$("$ZAGENT" cdi list --cdi-dir "$d")
  run "$ORACLE" --strict --spec-dirs "$d" --list
  check "oracle lists what zagent lists: $1" test "$out" = "$mine"
}
zvalid () { # zvalid NAME FILE
  run "$ZAGENT" cdi validate "$2"; expect_rc "zagent cdi validate: $1" 0
}
H=$WORK/h
MIG=1 IMEX=3 bash "$root/tests/fakehost/mkhost.sh" "$H" nvidia 2 >/dev/null
# The hook as installed on the fake host (cdi check looks through the host root).
HOOKP=/usr/local/libexec/zagent-cdi-hook
mkdir -p "$H/usr/local/libexec" && cp "$HOOK" "$H$HOOKP"
gen () { env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi generate --vendor nvidia "$@"; }

# ---- generate: MIG, names, formats -----------------------------------------------
mkdir -p "$WORK/s"
run gen --hook-path "$HOOKP" -o "$WORK/s/default.json"; expect_rc "generate (MIG host, hooks)" 0
zvalid "default" "$WORK/s/default.json"
oracle_ok "default (MIG, hooks)" "$WORK/s/default.json"
check "default names: index, uuid, MIG <gpu>:<n>, all" test "$("$ZAGENT" cdi list --cdi-dir "$WORK/s" | tr '\n' ' ')" = \
  "nvidia.com/gpu=0 nvidia.com/gpu=0:0 nvidia.com/gpu=0:1 nvidia.com/gpu=1 nvidia.com/gpu=GPU-0000abc0-1111-2222-3333-444444444440 nvidia.com/gpu=GPU-0000abc1-1111-2222-3333-444444444441 nvidia.com/gpu=all "
check "MIG 0:1: GPU node and the GI 2 / CI 0 capability nodes" pyjson "$WORK/s/default.json" \
  "[d for d in c['devices'] if d['name'] == '0:1'][0]['containerEdits']['deviceNodes'] == [{'path': '/dev/nvidia0'}, {'path': '/dev/nvidia-caps/nvidia-cap21'}, {'path': '/dev/nvidia-caps/nvidia-cap22'}]"
check "hooks: enable-cuda-compat, create-symlinks, update-ldcache, each with its own env" pyjson "$WORK/s/default.json" \
  "[h['args'][1] for h in c['containerEdits']['hooks']] == ['enable-cuda-compat', 'create-symlinks', 'update-ldcache']
   and all(h['hookName'] == 'createContainer' and h['path'] == '$HOOKP' and h['env'] == ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'] for h in c['containerEdits']['hooks'])
   and c['containerEdits']['hooks'][2]['args'][2:] == ['--folder', '/usr/lib/x86_64-linux-gnu']
   and c['containerEdits']['hooks'][1]['args'][2:] == ['--link', 'libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so']"
run gen --device-name-strategy type-index --device-name-strategy uuid --no-all-device --format yaml --no-hooks -o "$WORK/s2.yaml"
expect_rc "generate type-index + uuid, yaml, no all, no hooks" 0
check "yaml output is YAML, not JSON" grep -qx 'kind: "nvidia.com/gpu"' "$WORK/s2.yaml"
zvalid "type-index yaml" "$WORK/s2.yaml"
oracle_ok "type-index yaml" "$WORK/s2.yaml"
mkdir -p "$WORK/s2"; cp "$WORK/s2.yaml" "$WORK/s2/"
check "type-index names: gpuN, migN:M, UUIDs, no all" test "$("$ZAGENT" cdi list --cdi-dir "$WORK/s2" | tr '\n' ' ')" = \
  "nvidia.com/gpu=GPU-0000abc0-1111-2222-3333-444444444440 nvidia.com/gpu=GPU-0000abc1-1111-2222-3333-444444444441 nvidia.com/gpu=gpu0 nvidia.com/gpu=gpu1 nvidia.com/gpu=mig0:0 nvidia.com/gpu=mig0:1 "
run python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/s2.yaml"
check "yaml output is not JSON" test "$rc" != 0
check "no hooks: no hooks key, libraries in the multiarch dir" python3 -c '
import sys; t = open(sys.argv[1]).read(); sys.exit(0 if "hooks:" not in t else 1)' "$WORK/s2.yaml"
run gen --format yaml; check "--format yaml to stdout" grep -qx 'cdiVersion: "0.5.0"' <<<"$out"
run gen -o "$WORK/s3.yml" --no-hooks; check "-o *.yml implies yaml" grep -q '^devices:' "$WORK/s3.yml"
run gen --class imex-channel -o "$WORK/imex.json"; expect_rc "generate --class imex-channel" 0
check "IMEX: kind nvidia.com/imex-channel, channels 0..2 and all" pyjson "$WORK/imex.json" \
  "c['kind'] == 'nvidia.com/imex-channel' and [d['name'] for d in c['devices']] == ['0', '1', '2', 'all']
   and c['devices'][2]['containerEdits']['deviceNodes'] == [{'path': '/dev/nvidia-caps-imex-channels/channel2'}]"
zvalid "imex" "$WORK/imex.json"
oracle_ok "imex" "$WORK/imex.json"
mkdir -p "$WORK/noimex"; bash "$root/tests/fakehost/mkhost.sh" "$WORK/noimex" nvidia 1 >/dev/null
run env ZAGENT_HOST_ROOT="$WORK/noimex" "$ZAGENT" cdi generate --vendor nvidia --class imex-channel
expect_rc "IMEX on a host without channels: input error" 2
check "  ... saying so" grep -q "no IMEX channels" <<<"$err"
mkdir -p "$WORK/amd"; bash "$root/tests/fakehost/mkhost.sh" "$WORK/amd" amd 1 >/dev/null
run env ZAGENT_HOST_ROOT="$WORK/amd" "$ZAGENT" cdi generate --vendor amd --device-name-strategy uuid --no-all-device
expect_rc "no device named at all (AMD has no UUID, no all): input error" 2
check "  ... saying why" grep -q "naming strategies name none" <<<"$err"
run gen --device-name-strategy bogus; expect_rc "unknown strategy: exit 2" 2
run gen --format toml; expect_rc "unknown format: exit 2" 2
run gen --refresh; expect_rc "--refresh without -o: exit 2" 2
run gen --hook-path relative/hook; expect_rc "relative --hook-path: exit 2" 2

# ---- output is atomic, refresh rewrites only on change ------------------------------
echo "old" > "$WORK/s/keep.json"
run gen -o "$WORK/missing-dir/x.json"; expect_rc "-o into a missing directory: exit 2" 2
check "no temp files left behind" test -z "$(ls -A "$WORK/s" | grep '\.tmp$')"
run gen --hook-path "$HOOKP" --refresh -o "$WORK/s/default.json"
check "refresh of an unchanged spec: unchanged" grep -q "unchanged" <<<"$err"
ino=$(stat -c %i "$WORK/s/default.json")
run gen --hook-path "$HOOKP" --refresh -o "$WORK/s/default.json"
check "  ... and the file is not rewritten (same inode)" test "$(stat -c %i "$WORK/s/default.json")" = "$ino"

# ---- check ----------------------------------------------------------------------------
run env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi check "$WORK/s/default.json"
expect_rc "check of a fresh spec: exit 0" 0
check "  ... no differences" grep -q "no differences" <<<"$out"
mv "$H/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15" "$H/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.560.35.03"
rm "$H/dev/nvidia1"
rm "$H/dev/nvidia-uvm"; mknod "$H/dev/nvidia-uvm" c 510 0
# a spec that states the numbers (as hand-written ones do) and a missing hook
python3 - "$WORK/s/default.json" "$WORK/stale/pinned.json" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1]))
for n in c['containerEdits']['deviceNodes']:
    if n['path'] == '/dev/nvidia-uvm':
        n.update(type='c', major=509, minor=0)
c['containerEdits']['hooks'][0]['path'] = '/nonexistent/zagent-cdi-hook'
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
json.dump(c, open(sys.argv[2], 'w'), indent=2)
PY
cp "$WORK/s/default.json" "$WORK/stale/"
run env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi check --cdi-dir "$WORK/stale"
expect_rc "check of stale specs: exit 2" 2
check "  ... the renamed library" grep -q "default.json: mounted host file /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15 is gone" <<<"$out"
check "  ... the missing node, with the device" grep -q "default.json: nvidia.com/gpu=1: device node /dev/nvidia1 is gone" <<<"$out"
check "  ... the changed major" grep -q "pinned.json: device node /dev/nvidia-uvm: 509:0 in the spec, 510:0 on the host" <<<"$out"
check "  ... the missing hook binary" grep -q "pinned.json: hook binary /nonexistent/zagent-cdi-hook is missing" <<<"$out"
check "  ... every difference once (2 files x 3 + number + hook = 8 lines)" test "$(wc -l <<<"$out")" = 8
check "  ... the dangling soname link too" grep -q "default.json: mounted host file /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1 is gone" <<<"$out"
run env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi check --json "$WORK/stale/pinned.json"
expect_rc "check --json: exit 2" 2
printf '%s' "$out" > "$WORK/check.json"
check "check --json: what/path of each difference" pyjson "$WORK/check.json" \
  "sorted((d['what'], d['path']) for d in c) == sorted([('mount-gone', '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.54.15'), ('mount-gone', '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1'), ('node-gone', '/dev/nvidia1'), ('node-number', '/dev/nvidia-uvm'), ('hook-gone', '/nonexistent/zagent-cdi-hook')])
   and [d['device'] for d in c if d['path'] == '/dev/nvidia1'] == ['nvidia.com/gpu=1']"
echo '{"cdiVersion": "0.5.0", "kind": "x.com/y", "devices": []}' > "$WORK/stale/broken.json"
run env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi check "$WORK/stale/broken.json"
expect_rc "check of an invalid spec: exit 2" 2
check "  ... says it is not valid" grep -q "not a valid CDI spec" <<<"$out"
run env ZAGENT_HOST_ROOT="$H" CDI_SPEC_DIRS="$WORK/nothing:$WORK/stale" "$ZAGENT" cdi check
expect_rc "check without arguments: the \$CDI_SPEC_DIRS that exist (exit 2, stale)" 2
check "  ... it read them" grep -q "pinned.json: hook binary" <<<"$out"
run env CDI_SPEC_DIRS="$WORK/nothing" "$ZAGENT" cdi check; expect_rc "check with no spec directory: exit 2" 2
run "$ZAGENT" cdi check "$WORK/nothing-here"; expect_rc "check of a missing file: exit 2" 2
run "$ZAGENT" cdi check --bogus; expect_rc "check --bogus: exit 2" 2

# ---- refresh after the upgrade: rewritten, and then it checks clean --------------------
run gen --hook-path "$HOOKP" --refresh -o "$WORK/s/default.json"
check "refresh after the driver change: updated" grep -q "updated" <<<"$err"
check "  ... GPU 1 (node gone) left out, with a warning" grep -q "GPU 1 .* has no device nodes" <<<"$err"
check "  ... the new library is in, the old one out" pyjson "$WORK/s/default.json" \
  "any(m['hostPath'].endswith('libnvidia-ml.so.560.35.03') for m in c['containerEdits']['mounts'])
   and not any(m['hostPath'].endswith('libnvidia-ml.so.550.54.15') for m in c['containerEdits']['mounts'])"
run env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi check "$WORK/s/default.json"
expect_rc "check of the refreshed spec: exit 0" 0
finish
