#!/bin/bash
# The registry client against broken and hostile registries
# (tests/registry/hostile.py): digest and size mismatches, a truncated
# transfer, an oversized manifest, auth required, a blob redirect to
# another host (no credentials follow), a stalled server, only a foreign
# platform, schema 1, transient 503s.  Each failure is one line naming the
# image (and the blob), exit 2 for bad content, 1 for network/auth.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
REGTOOL=$(realpath "${1:-$root/build/tests/regtool}")
WORK=$(mktemp -d /tmp/zagent-hostile.XXXXXX)
. "$root/tests/e2e/lib.sh"
. "$here/lib.sh"
cleanup () { stop_registries; rm -rf "$WORK"; }
trap cleanup EXIT
export HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/xdg
unset REGISTRY_AUTH_FILE ZAGENT_REGISTRIES_CONF
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"

make_rootfs "$WORK/rootfs"
python3 "$root/tests/e2e/mklayout.py" "$WORK/l1" "$WORK/rootfs" v1 >/dev/null
start_hostile "$WORK/l1" || { not_ok "hostile server starts"; finish; exit; }
X=$HOSTILE_ADDR
LAYER=$(python3 -c 'import json,sys; d=sys.argv[1]; i=json.load(open(d+"/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open(d+"/blobs/sha256/"+i))["layers"][0]["digest"])' "$WORK/l1")
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$X" "$(printf zuser:zpass | base64 -w0)" > "$WORK/auth.json"

rt () { run "$REGTOOL" --tls-verify=false "$@"; }
one_line () { [ -n "$err" ] && [ "$(wc -l <<<"$err")" = 1 ]; }
fetch () { # fetch MODE [OPTIONS]: the layer of MODE:v1 into $WORK/out
  local mode=$1; shift
  rt "$@" fetch "$X/$mode:v1" "$LAYER" "$WORK/out"
}

fetch good
expect_rc "a correct server: fetch succeeds" 0
check "a correct server: blob verified" [ "$(sha256sum < "$WORK/out" | cut -d' ' -f1)" = "${LAYER#sha256:}" ]

fetch wrongdigest
expect_rc "wrong digest exits 2" 2
check "wrong digest: one line naming image and blob" one_line
check "wrong digest: says digest mismatch" grep -q "^regtool: $X/wrongdigest:v1: blob $LAYER: digest mismatch" <<<"$err"

start=$(date +%s)
fetch truncated
expect_rc "truncated transfer (after retries) exits 1" 1
check "truncated: one line naming image and blob" grep -q "^regtool: $X/truncated:v1: blob $LAYER: .*remaining" <<<"$err"
check "truncated: retries are bounded (< 15 s)" [ $(( $(date +%s) - start )) -lt 15 ]

fetch short
expect_rc "a blob shorter than the manifest says exits 2" 2
check "short: names the sizes" grep -q "blob $LAYER: .* bytes, the manifest says" <<<"$err"
fetch long
expect_rc "a blob longer than the manifest says exits 2" 2
check "long: stopped at the bound" grep -q "blob $LAYER: larger than" <<<"$err"
check "long: no more than the manifest's size written" [ "$(stat -c %s "$WORK/out")" -le "$(stat -c %s "$WORK/l1/blobs/sha256/${LAYER#sha256:}")" ]

rt resolve "$X/bigmanifest:v1"
expect_rc "a 5 MiB manifest exits 2" 2
check "oversized manifest: one line" one_line
check "oversized manifest: says the bound" grep -q "larger than 4 MiB" <<<"$err"

rt resolve "$X/foreign:v1"
expect_rc "only a foreign platform exits 2" 2
check "foreign: lists what is available" grep -q "no manifest for linux/.*available: linux/arm64, linux/s390x" <<<"$err"
rt resolve "$X/schema1:v1"
expect_rc "schema 1 exits 2" 2
check "schema 1: says so" grep -q "schema 1" <<<"$err"

fetch flaky
expect_rc "two 503s then success: retried" 0

fetch basic
expect_rc "Basic auth without credentials exits 1" 1
check "no credentials: one line" one_line
: > "$HOSTILE_LOG"
fetch basic --authfile "$WORK/auth.json"
expect_rc "Basic auth, blob redirected to another host" 0
check "the redirected request reached the other host" grep -q "^GET /blob/$LAYER" "$HOSTILE_LOG"
check "no Authorization header followed the redirect" bash -c '! grep -qi "^authorization:" "$1"' _ "$HOSTILE_LOG"
check "redirected blob verified" [ "$(sha256sum < "$WORK/out" | cut -d' ' -f1)" = "${LAYER#sha256:}" ]
: > "$HOSTILE_LOG"
fetch bearer --authfile "$WORK/auth.json"
expect_rc "Bearer token from the challenge, blob redirected" 0
check "no bearer token followed the redirect" bash -c '! grep -qi "^authorization:" "$1"' _ "$HOSTILE_LOG"

rt resolve "$X/headers:v1"
expect_rc "2 MiB of headers exits 1" 1
check "headers: cut off at a bound" grep -qi "headers" <<<"$err"
start=$(date +%s)
rt resolve "$X/errorbody:v1"
expect_rc "a 64 MiB error body: not found, exit 2" 2
check "error body: not read to the end (< 5 s)" [ $(( $(date +%s) - start )) -lt 5 ]

start=$(date +%s)
rt --timeout 2 resolve "$X/stall:v1"
expect_rc "a stalled server exits 1" 1
check "stall: bounded by the timeout (< 10 s)" [ $(( $(date +%s) - start )) -lt 10 ]
check "stall: says it stalled" grep -q "^regtool: $X/stall:v1: $X stalled" <<<"$err"

finish
