#!/bin/sh
# Build the reference CDI oracle (shared/tools/cdi-oracle, the Debian 12
# Go library container-device-interface 0.5.2) into OUTDIR/cdi-oracle,
# without writing anything into the shared directory (it may be read-only).
#
# Same recipe as shared/tools/cdi-oracle/build.sh: GOPATH mode against the
# Debian packages only (GO111MODULE=off GOPATH=/usr/share/gocode
# GOPROXY=off), a private throw-away GOCACHE, CGO_ENABLED=0.  main.go is
# copied into a private temp directory and built there.
#
# Needs: golang-go, golang-github-container-orchestrated-devices-container-device-interface-dev,
#        golang-github-opencontainers-specs-dev (scripts/deps.sh installs them).
# Usage: scripts/build-oracle.sh OUTDIR     exit 0 built, 1 cannot build (reason on stderr)
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
shared=${SHARED:-$repo/../shared}
src=$shared/tools/cdi-oracle/main.go
mkdir -p "$1"
out=$(cd "$1" && pwd)/cdi-oracle

[ -f "$src" ] || { echo "build-oracle: $src not found" >&2; exit 1; }
command -v go >/dev/null 2>&1 || {
    echo "build-oracle: 'go' not found (install golang-go)" >&2; exit 1; }
lib=/usr/share/gocode/src/github.com/container-orchestrated-devices/container-device-interface/pkg/cdi
[ -d "$lib" ] || {
    echo "build-oracle: $lib missing (install golang-github-container-orchestrated-devices-container-device-interface-dev)" >&2
    exit 1; }
[ -d /usr/share/gocode/src/github.com/opencontainers/runtime-spec/specs-go ] || {
    echo "build-oracle: runtime-spec Go sources missing (install golang-github-opencontainers-specs-dev)" >&2
    exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cdi-oracle-build.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/src/cdi-oracle" "$tmp/gocache"
cp "$src" "$tmp/src/cdi-oracle/main.go"

(cd "$tmp/src/cdi-oracle" && env GO111MODULE=off \
    GOPATH=/usr/share/gocode \
    GOPROXY=off \
    GOFLAGS= \
    GOCACHE="$tmp/gocache" \
    GOTMPDIR="$tmp" \
    CGO_ENABLED=0 \
    HOME="$tmp" \
    go build -trimpath -o "$tmp/cdi-oracle" .) || {
    echo "build-oracle: go build failed" >&2; exit 1; }

"$tmp/cdi-oracle" --versions >/dev/null || {
    echo "build-oracle: the built oracle does not run" >&2; exit 1; }
mv -f "$tmp/cdi-oracle" "$out.tmp.$$" && mv -f "$out.tmp.$$" "$out"
echo "built $out"
