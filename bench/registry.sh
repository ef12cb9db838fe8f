#!/bin/bash
# make bench: raw blob fetch throughput of the registry client
# (tests/registry/regtool fetch: libcurl, SHA-256 and size checked while
# streaming, written to a file) against `curl -o` of the same blob URL
# (no verification), from one docker-registry on 127.0.0.1.  Medians of
# ROUNDS runs; prints one table row per size.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
REGTOOL=$(realpath "${1:-$root/build/tests/regtool}")
MIB=${BENCH_BLOB_MIB:-256}
ROUNDS=${BENCH_ROUNDS:-5}
WORK=$(mktemp -d /tmp/zagent-bench-reg.XXXXXX)
. "$root/tests/registry/lib.sh"
cleanup () { stop_registries; rm -rf "$WORK"; }
trap cleanup EXIT
for t in docker-registry curl; do
  command -v $t >/dev/null || { echo "| registry blob fetch | skipped: no $t | | |"; exit 0; }
done
start_registry http bench >/dev/null || { echo "| registry blob fetch | failed: no registry | | |"; exit 0; }

# one blob of random bytes, uploaded monolithically (POST, then PUT ?digest=)
head -c $((MIB << 20)) /dev/urandom > "$WORK/blob"
dg=sha256:$(sha256sum < "$WORK/blob" | cut -d' ' -f1)
size=$(stat -c %s "$WORK/blob")
loc=$(curl -si -X POST "http://$REG_ADDR/v2/bench/big/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case $loc in http*) ;; *) loc=http://$REG_ADDR$loc ;; esac
sep='?'; case $loc in *\?*) sep='&' ;; esac
curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/blob" \
  "$loc${sep}digest=$dg" -o /dev/null || { echo "| registry blob fetch | failed: upload | | |"; exit 0; }
rm -f "$WORK/blob"
url=http://$REG_ADDR/v2/bench/big/blobs/$dg

median () { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit () { # timeit CMD...: seconds
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo fail; return; }; e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
z=() c=() v=()
curl_verify () { # the same blob streamed through sha256sum, as a check would
  [ "$(curl -sf "$url" | tee "$WORK/out" | sha256sum | cut -d' ' -f1)" = "${dg#sha256:}" ]
}
for i in $(seq "$ROUNDS"); do
  rm -f "$WORK/out"
  z+=("$(timeit "$REGTOOL" --tls-verify=false --size "$size" fetch "$REG_ADDR/bench/big:x" "$dg" "$WORK/out")")
  rm -f "$WORK/out"
  c+=("$(timeit curl -sf -o "$WORK/out" "$url")")
  rm -f "$WORK/out"
  v+=("$(timeit curl_verify)")
done
zm=$(printf '%s\n' "${z[@]}" | median)
cm=$(printf '%s\n' "${c[@]}" | median)
vm=$(printf '%s\n' "${v[@]}" | median)
if [ "$zm" = fail ] || [ "$cm" = fail ] || [ "$vm" = fail ]; then
  echo "| registry blob fetch, $MIB MiB over loopback | failed | | |"; exit 0
fi
awk -v z="$zm" -v c="$cm" -v v="$vm" -v m="$MIB" 'BEGIN {
  printf "| registry blob fetch + verify, %d MiB over loopback | %.0f ms (%.0f MiB/s) | `curl -o` (no verify) %.0f ms (%.0f MiB/s) | %.2fx |\n",
    m, z * 1000, m / z, c * 1000, m / c, z / c
  printf "| registry blob fetch + verify, %d MiB over loopback | %.0f ms (%.0f MiB/s) | `curl \\| tee \\| sha256sum` %.0f ms (%.0f MiB/s) | %.2fx |\n",
    m, z * 1000, m / z, v * 1000, m / v, z / v }'
