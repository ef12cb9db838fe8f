#!/bin/bash
# The registry client (image/registry.h through tests/registry/regtool)
# against Debian's docker-registry (distribution 2.8) on 127.0.0.1: plain
# HTTP, HTTPS with a CA the test makes, htpasswd Basic auth; images pushed
# with skopeo from layouts built here (single platform, an index, Docker
# schema 2 and manifest list, gzip/zstd/uncompressed layers); mirrors.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
REGTOOL=$(realpath "${1:-$root/build/tests/regtool}")
WORK=$(mktemp -d /tmp/zagent-registry.XXXXXX)
. "$root/tests/e2e/lib.sh"
. "$here/lib.sh"
cleanup () { stop_registries; rm -rf "$WORK"; }
trap cleanup EXIT
# no ambient credentials or config
export HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/xdg
unset REGISTRY_AUTH_FILE ZAGENT_REGISTRIES_CONF
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"

for t in docker-registry skopeo openssl htpasswd curl; do
  command -v $t >/dev/null || { skip "registry tests" "$t is not installed"; finish; exit; }
done

rt () { run "$REGTOOL" "$@"; }
blobs_verified () { # every file of DIR is named by its sha256
  local f n=0
  for f in "$1"/*; do
    [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || { echo "bad $f"; return 1; }
    n=$((n + 1))
  done
  [ "$n" = "$2" ] || { echo "$n blobs, want $2"; return 1; }
}
manifest_digest () { # of the layout's (first) index.json entry
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$1"
}
pull_into () { rm -rf "$WORK/pull"; mkdir -p "$WORK/pull"; rt "$@" "$WORK/pull"; }

make_rootfs "$WORK/rootfs"
python3 "$root/tests/e2e/mklayout.py" "$WORK/l1" "$WORK/rootfs" v1 >/dev/null
python3 "$root/tests/e2e/mklayout.py" "$WORK/l2" "$WORK/rootfs" v1 --split >/dev/null
cp -a "$WORK/l1" "$WORK/lidx"
python3 "$here/mkindex.py" "$WORK/lidx" multi
D1=$(manifest_digest "$WORK/l1")

# ---- plain HTTP -----------------------------------------------------------
start_registry http || { not_ok "docker-registry starts"; finish; exit; }
H=$REG_ADDR
check "push single-platform (gzip)" push_image "oci:$WORK/l1:v1" bb:v1
check "push split layers (gzip + uncompressed)" push_image "oci:$WORK/l2:v1" bb:split
check "zstd layout" skopeo copy -q --dest-compress-format zstd "oci:$WORK/l1:v1" "oci:$WORK/lz:v1"
check "push zstd layers" push_image "oci:$WORK/lz:v1" bb:zstd
check "push multi-platform index" push_image "oci:$WORK/lidx:multi" bb:multi --all
check "push Docker schema 2" push_image "oci:$WORK/l1:v1" bb:v2s2 --format v2s2
check "push Docker manifest list" push_image "oci:$WORK/lidx:multi" bb:list --all --format v2s2
check "push as a docker.io name for the mirror" push_image "oci:$WORK/l1:v1" library/busybox:latest
check "push under a mirror prefix" push_image "oci:$WORK/l1:v1" hub/library/busybox:latest

rt resolve "$H/bb:v1"
expect_rc "plain HTTP refused without --tls-verify=false" 1
check "the error says how to allow plain HTTP" grep -q "tls-verify=false" <<<"$err"
rt --tls-verify=false resolve "$H/bb:v1"
expect_rc "resolve single-platform" 0
check "single: the layout's manifest digest" grep -qx "image application/vnd.oci.image.manifest.v1+json $D1" <<<"$out"
check "single: top is the manifest itself" grep -qx "top application/vnd.oci.image.manifest.v1+json $D1" <<<"$out"
rt --tls-verify=false head "$H/bb:v1"
check "head gives the tag's digest" [ "$out" = "$D1" ]
pull_into --tls-verify=false pull "$H/bb:v1"
expect_rc "pull single-platform" 0
check "single: config and layer verified on disk" blobs_verified "$WORK/pull" 2
pull_into --tls-verify=false pull "$H/bb:split"
expect_rc "pull 3 layers concurrently" 0
check "split: 4 blobs verified" blobs_verified "$WORK/pull" 4
rt --tls-verify=false manifest "$H/bb:zstd"
check "zstd: layers are zstd" grep -q 'tar+zstd' <<<"$out"
pull_into --tls-verify=false pull "$H/bb:zstd"
check "zstd: blobs verified" blobs_verified "$WORK/pull" 2

rt --tls-verify=false resolve "$H/bb:multi"
expect_rc "resolve multi-platform index" 0
check "multi: top is an OCI index" grep -q "^top application/vnd.oci.image.index.v1+json" <<<"$out"
check "multi: this machine's manifest chosen" grep -qx "image application/vnd.oci.image.manifest.v1+json $D1" <<<"$out"
rt --tls-verify=false resolve "$H/bb:v2s2"
check "Docker schema 2 manifest" grep -q "^image application/vnd.docker.distribution.manifest.v2+json" <<<"$out"
pull_into --tls-verify=false pull "$H/bb:v2s2"
check "schema 2: blobs verified" blobs_verified "$WORK/pull" 2
rt --tls-verify=false resolve "$H/bb:list"
check "Docker manifest list" grep -q "^top application/vnd.docker.distribution.manifest.list.v2+json" <<<"$out"
check "manifest list: schema 2 image chosen" grep -q "^image application/vnd.docker.distribution.manifest.v2+json" <<<"$out"

rt --tls-verify=false resolve "$H/bb@$D1"
expect_rc "resolve by digest" 0
rt --tls-verify=false resolve "$H/bb:v1@$D1"
expect_rc "tag and digest: the digest pins" 0
rt --tls-verify=false resolve "$H/bb@sha256:$(printf '0%.0s' {1..64})"
expect_rc "unknown digest exits 2" 2
rt --tls-verify=false resolve "$H/bb:nope"
expect_rc "unknown tag exits 2" 2
check "unknown tag: one line naming the image" [ "$(wc -l <<<"$err")" = 1 ]
check "unknown tag: says not found" grep -q "$H/bb:nope: manifest nope not found" <<<"$err"
rt --tls-verify=false resolve "$H/nothing/here:v1"
expect_rc "unknown repository exits 2" 2
rt --tls-verify=false resolve "$H/Bad:Ref!"
expect_rc "bad reference exits 2" 2
rt --tls-verify=false fetch "$H/bb:v1" "sha256:$(printf '1%.0s' {1..64})" "$WORK/x" --size 10
rt --tls-verify=false --size 10 fetch "$H/bb:v1" "sha256:$(printf '1%.0s' {1..64})" "$WORK/x"
expect_rc "unknown blob exits 2" 2
check "unknown blob: names the image and blob" grep -q "$H/bb:v1: blob sha256:1111" <<<"$err"

printf '{"registries": {"%s": {"insecure": true}}}\n' "$H" > "$WORK/insecure.json"
rt --config "$WORK/insecure.json" resolve "$H/bb:v1"
expect_rc "a registry marked insecure in the config speaks plain HTTP" 0
rt --config "$WORK/insecure.json" --tls-verify=true resolve "$H/bb:v1"
expect_rc "--tls-verify=true overrides the config" 1
ZAGENT_REGISTRIES_CONF=$WORK/insecure.json rt resolve "$H/bb:v1"
expect_rc "\$ZAGENT_REGISTRIES_CONF names the config" 0
rt --config "$WORK/missing.json" resolve "$H/bb:v1"
expect_rc "a missing explicit config exits 2" 2

# ---- mirrors ----------------------------------------------------------------
dead=127.0.0.1:$(free_port)
printf '{"registries": {"docker.io": {"mirrors": [{"location": "%s", "insecure": true}, {"location": "%s", "insecure": true}]}}}\n' "$dead" "$H" > "$WORK/mirror.json"
rt --config "$WORK/mirror.json" resolve docker.io/library/busybox:latest
expect_rc "docker.io/library/busybox:latest from the mirror (first one down)" 0
check "mirror: the pushed image" grep -qx "image application/vnd.oci.image.manifest.v1+json $D1" <<<"$out"
pull_into --config "$WORK/mirror.json" pull busybox
expect_rc "short name busybox pulled through the mirror" 0
check "mirror: blobs verified" blobs_verified "$WORK/pull" 2
printf '{"registries": {"docker.io": {"mirrors": ["%s/hub"]}, "%s": {"insecure": true}}}\n' "$H" "$H" > "$WORK/prefix.json"
rt --config "$WORK/prefix.json" resolve busybox
expect_rc "a mirror with a namespace prefix" 0
printf '{"registries": {"docker.io": {"mirrors": [{"location": "not a host"}]}}}\n' > "$WORK/badmirror.json"
rt --config "$WORK/badmirror.json" resolve busybox
expect_rc "a bad mirror location exits 2" 2

# ---- HTTPS with a test CA ------------------------------------------------------
start_registry https || { not_ok "docker-registry starts with TLS"; finish; exit; }
S=$REG_ADDR
check "push over TLS" push_image "oci:$WORK/l1:v1" bb:v1
rt --cert-dir "$REG_CERT_DIR" resolve "$S/bb:v1"
expect_rc "TLS with the CA from --cert-dir" 0
pull_into --cert-dir "$REG_CERT_DIR" pull "$S/bb:v1"
check "TLS: blobs verified" blobs_verified "$WORK/pull" 2
rt resolve "$S/bb:v1"
expect_rc "an unknown CA fails (exit 1)" 1
check "certificate error names the host" grep -q "certificate of $S is not trusted" <<<"$err"
check "certificate error lists the dirs searched" grep -q "/etc/containers/certs.d/$S, /etc/docker/certs.d/$S" <<<"$err"
rt --tls-verify=false resolve "$S/bb:v1"
expect_rc "--tls-verify=false accepts the unknown CA" 0

# ---- a client certificate from the cert dir ------------------------------------
start_registry mtls || { not_ok "docker-registry starts with client CAs"; finish; exit; }
M=$REG_ADDR
check "push with a client certificate" push_image "oci:$WORK/l1:v1" bb:v1
rt --cert-dir "$REG_CERT_DIR" resolve "$M/bb:v1"
expect_rc "client certificate NAME.cert + NAME.key from the cert dir" 0
rt --cert-dir "$WORK/certs/ca" resolve "$M/bb:v1"
expect_rc "without the client certificate: exit 1" 1
mkdir -p "$WORK/nokey" && cp "$REG_CERT_DIR/client.cert" "$WORK/nokey/"
rt --cert-dir "$WORK/nokey" resolve "$M/bb:v1"
expect_rc "a client certificate without its key exits 2" 2

# ---- htpasswd Basic auth (over TLS) ---------------------------------------------
start_registry auth || { not_ok "docker-registry starts with htpasswd"; finish; exit; }
A=$REG_ADDR
check "push with credentials" push_image "oci:$WORK/l2:v1" bb:v1
rt --cert-dir "$REG_CERT_DIR" resolve "$A/bb:v1"
expect_rc "no credentials: exit 1" 1
check "no credentials: says authentication is required" grep -q "requires authentication" <<<"$err"
pull_into --cert-dir "$REG_CERT_DIR" --authfile "$REG_AUTHFILE" pull "$A/bb:v1"
expect_rc "--authfile: pull 3 layers concurrently" 0
check "auth: blobs verified" blobs_verified "$WORK/pull" 4
REGISTRY_AUTH_FILE=$REG_AUTHFILE rt --cert-dir "$REG_CERT_DIR" resolve "$A/bb:v1"
expect_rc "\$REGISTRY_AUTH_FILE" 0
mkdir -p "$XDG_RUNTIME_DIR/containers" "$HOME/.docker"
cp "$REG_AUTHFILE" "$XDG_RUNTIME_DIR/containers/auth.json"
rt --cert-dir "$REG_CERT_DIR" resolve "$A/bb:v1"
expect_rc "\$XDG_RUNTIME_DIR/containers/auth.json" 0
rm "$XDG_RUNTIME_DIR/containers/auth.json"
cp "$REG_AUTHFILE" "$HOME/.docker/config.json"
rt --cert-dir "$REG_CERT_DIR" resolve "$A/bb:v1"
expect_rc "~/.docker/config.json" 0
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$A" "$(printf '%s:wrong-%s' "$REG_USER" "$REG_PASS" | base64 -w0)" > "$WORK/wrong.json"
rt --cert-dir "$REG_CERT_DIR" --authfile "$WORK/wrong.json" resolve "$A/bb:v1"
expect_rc "wrong password: exit 1" 1
check "wrong password: says the credentials were refused" grep -q "refused the credentials" <<<"$err"
check "the password never appears in an error" bash -c '! grep -q -- "$1" <<<"$2"' _ "$REG_PASS" "$err"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$A" "$(printf 'nocolon' | base64 -w0)" > "$WORK/bad.json"
rt --cert-dir "$REG_CERT_DIR" --authfile "$WORK/bad.json" resolve "$A/bb:v1"
expect_rc "a malformed auth entry exits 2" 2
rt --authfile "$WORK/none.json" resolve "$A/bb:v1"
expect_rc "a missing --authfile exits 2" 2

finish
