#!/bin/bash
# End-to-end tests of zagent-cdi-hook (issue 14).
# 1. update-ldcache on a rootfs with /usr/lib64 and no ld.so.cache: the
#    cache it leaves lists the library (`ldconfig -p -C` on the host).
# 2. Under runc, through a spec made by `cdi generate` on a fake host whose
#    driver libraries are real ELF objects (gcc -shared -Wl,-soname,...):
#    inside the container `ldconfig -p` (the host's static ldconfig copied
#    into the busybox rootfs) lists libcuda.so.1 and a static program
#    dlopen()s it and calls cuInit; without the hooks the dlopen fails.
# 3. Hostile rootfs: ld.so.cache, /etc/ld.so.conf.d, /etc, a symlink's
#    parent and a chmod target as links to host paths, LD_PRELOAD in the
#    hook's env, a dynamic ldconfig, the host's / as rootfs: the hook fails
#    and the host is untouched.
# 4. enable-cuda-compat, create-symlinks, chmod.
# Needs root (chroot, mknod), gcc (test programs) and runc for part 2.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
HOOK=$(dirname "$ZAGENT")/zagent-cdi-hook
WORK=$(mktemp -d /tmp/zagent-cdihook.XXXXXX)
ID="zh-$$-$RANDOM"
trap 'runc delete -f "$ID" >/dev/null 2>&1; runc delete -f "$ID-b" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
. "$here/lib.sh"
export CDI_SPEC_DIRS=$WORK/no-cdi
mkdir -p "$CDI_SPEC_DIRS"
unset ZAGENT_HOST_ROOT

if [ "$(id -u)" != 0 ] || ! command -v gcc >/dev/null; then
  skip "zagent-cdi-hook end-to-end tests" "needs root and gcc"
  finish; exit $?
fi
LDCONFIG=/sbin/ldconfig; [ -x /sbin/ldconfig.real ] && LDCONFIG=/sbin/ldconfig.real
hook () { # hook BUNDLE ARGS...: the hook with BUNDLE's OCI state on stdin
  local b=$1; shift
  printf '{"ociVersion":"1.0.2","id":"t","status":"creating","pid":1,"bundle":"%s"}' "$b" | "$HOOK" "$@"
}
mkb () { # mkb NAME: a bundle with an empty rootfs; prints its path
  mkdir -p "$WORK/$1/rootfs" && echo '{"root":{"path":"rootfs"}}' > "$WORK/$1/config.json" && echo "$WORK/$1"
}
run file "$HOOK"
check "the hook is statically linked (no loader, no LD_PRELOAD) unless sanitized" \
  bash -c "grep -q 'statically linked' <<<'$out' || nm -D '$HOOK' 2>/dev/null | grep -q __asan"

# ---- 1. update-ldcache on a /usr/lib64 rootfs without ld.so.cache -----------------
echo 'int cuInit (unsigned f) { return 42 + (int) f; }' > "$WORK/cuda.c"
gcc -shared -fPIC -nostdlib -Wl,-soname,libcuda.so.1 -o "$WORK/libcuda.so.550.54.15" "$WORK/cuda.c"
B=$(mkb plain)
mkdir -p "$B/rootfs/usr/lib64"; cp "$WORK/libcuda.so.550.54.15" "$B/rootfs/usr/lib64/"
ln -s libcuda.so.550.54.15 "$B/rootfs/usr/lib64/libcuda.so.1"
run hook "$B" update-ldcache --folder /usr/lib64
expect_rc "update-ldcache on a rootfs without ld.so.cache" 0
run "$LDCONFIG" -p -C "$B/rootfs/etc/ld.so.cache"
check "the new ld.so.cache lists libcuda.so.1 in /usr/lib64" grep -q 'libcuda.so.1 (libc6,x86-64) => /usr/lib64/libcuda.so.1' <<<"$out"
check "ld.so.conf.d gets the folder (survives an ldconfig in the image)" \
  test "$(cat "$B/rootfs/etc/ld.so.conf.d/00-zagent-cdi.conf")" = /usr/lib64
check "  ... mode 0644" test "$(stat -c %a "$B/rootfs/etc/ld.so.conf.d/00-zagent-cdi.conf")" = 644
run hook "$B" update-ldcache --folder relative/dir; expect_rc "a relative --folder is refused" 1
run hook "$B" update-ldcache --ldconfig-path /usr/bin/env
expect_rc "a dynamically linked ldconfig is refused" 1
check "  ... saying why" grep -q "dynamically linked" <<<"$err"
run "$HOOK" update-ldcache </dev/null; expect_rc "no OCI state: fails" 1
run hook "/" update-ldcache; expect_rc "bundle / (no config.json): fails" 1
mkdir -p "$WORK/slash"; echo '{"root":{"path":"/"}}' > "$WORK/slash/config.json"
run hook "$WORK/slash" update-ldcache --folder /usr/lib64
expect_rc "the host's / as rootfs is refused" 1
check "  ... saying so" grep -q "host's /" <<<"$err"

# ---- 3. hostile rootfs ------------------------------------------------------------
mkdir -p "$WORK/host/etc" "$WORK/host/confd" "$WORK/host/lib" "$WORK/host/dri"
echo "host cache" > "$WORK/host/ld.so.cache"; touch -d @1000000000 "$WORK/host/ld.so.cache"
chmod 700 "$WORK/host/dri"
snap () { (cd "$WORK/host" && find . -printf '%p %m %s %T@\n' | sort | md5sum); }
before=$(snap)
B=$(mkb evil-cache); mkdir -p "$B/rootfs/etc"; ln -s "$WORK/host/ld.so.cache" "$B/rootfs/etc/ld.so.cache"
run hook "$B" update-ldcache --folder /usr/lib64
expect_rc "ld.so.cache -> host file: the hook fails" 1
check "  ... naming the link" grep -q "/etc/ld.so.cache. in the container goes through a symlink" <<<"$err"
B=$(mkb evil-confd); mkdir -p "$B/rootfs/etc"; ln -s "$WORK/host/confd" "$B/rootfs/etc/ld.so.conf.d"
run hook "$B" update-ldcache --folder /usr/lib64
expect_rc "/etc/ld.so.conf.d -> host dir: the hook fails" 1
B=$(mkb evil-etc); ln -s "$WORK/host/etc" "$B/rootfs/etc"
run hook "$B" update-ldcache --folder /usr/lib64
expect_rc "/etc -> host dir: the hook fails" 1
B=$(mkb evil-link); mkdir -p "$B/rootfs/usr"; ln -s "$WORK/host/lib" "$B/rootfs/usr/lib64"
run hook "$B" create-symlinks --link libcuda.so.1::/usr/lib64/libcuda.so
expect_rc "create-symlinks through a linked directory: fails" 1
B=$(mkb evil-chmod); mkdir -p "$B/rootfs/dev"; ln -s "$WORK/host/dri" "$B/rootfs/dev/dri"
run hook "$B" chmod --mode 777 --path /dev/dri
expect_rc "chmod of a link to a host dir: fails" 1
B=$(mkb evil-dotdot); mkdir -p "$B/rootfs/etc"
run hook "$B" create-symlinks --link x::/../../host/evil
expect_rc "create-symlinks with .. in the link: refused" 1
cat > "$WORK/preload.c" <<P
#include <stdio.h>
__attribute__ ((constructor)) static void pwn (void) { FILE *f = fopen ("$WORK/host/PWNED", "w"); if (f) fclose (f); }
P
gcc -shared -fPIC -o "$WORK/preload.so" "$WORK/preload.c"
B=$(mkb preload)
out=$(printf '{"bundle":"%s"}' "$B" | LD_PRELOAD="$WORK/preload.so" "$HOOK" update-ldcache --folder /usr/lib64 2>&1); rc=$?
check "LD_PRELOAD in the hook's env: it refuses (exit 1)" test "$rc" = 1
check "  ... saying so (or, sanitized builds, ASan refusing the preload)" grep -qE "refusing to run with LD_PRELOAD|ASan runtime does not come first" <<<"$out"
check "  ... and it touched nothing in the rootfs" test -z "$(ls -A "$B/rootfs")"
out=$(printf '{"bundle":"%s"}' "$B" | env GCONV_PATH="$WORK/host" "$HOOK" update-ldcache 2>&1); rc=$?
check "GCONV_PATH in the hook's env: refused too" test "$rc" = 1
check "host untouched by every hostile case (files, modes, sizes, times; no PWNED)" test "$(snap)" = "$before"
check "  ... the host cache still says what it said" test "$(cat "$WORK/host/ld.so.cache")" = "host cache"

# ---- 4. enable-cuda-compat, create-symlinks, chmod ----------------------------------
B=$(mkb compat); mkdir -p "$B/rootfs/usr/local/cuda/compat" "$B/rootfs/etc/ld.so.conf.d"
touch "$B/rootfs/etc/ld.so.cache" "$B/rootfs/usr/local/cuda/compat/libcuda.so.560.35.03"
run hook "$B" enable-cuda-compat --host-driver-version 550.54.15
expect_rc "enable-cuda-compat (compat 560 > host 550)" 0
check "  ... adds the compat dir to ld.so.conf.d" test "$(cat "$B/rootfs/etc/ld.so.conf.d/00-compat-zagent.conf" 2>&1)" = /usr/local/cuda/compat
rm -f "$B/rootfs/etc/ld.so.conf.d/00-compat-zagent.conf"
run hook "$B" enable-cuda-compat --host-driver-version 1000.1
expect_rc "enable-cuda-compat (host 1000 newer, numeric compare)" 0
check "  ... leaves ld.so.conf.d alone" test ! -e "$B/rootfs/etc/ld.so.conf.d/00-compat-zagent.conf"
run hook "$B" enable-cuda-compat; expect_rc "enable-cuda-compat without a version: fails" 1
B=$(mkb links); mkdir -p "$B/rootfs/usr/lib64"; echo mine > "$B/rootfs/usr/lib64/libmine.so"
run hook "$B" create-symlinks --link libcuda.so.1::/usr/lib64/libcuda.so --link libx.so.1::/opt/new/dir/libx.so \
  --link other::/usr/lib64/libmine.so
expect_rc "create-symlinks" 0
check "  ... libcuda.so -> libcuda.so.1" test "$(readlink "$B/rootfs/usr/lib64/libcuda.so")" = libcuda.so.1
check "  ... parents created" test "$(readlink "$B/rootfs/opt/new/dir/libx.so")" = libx.so.1
check "  ... an image's own file is left alone" test "$(cat "$B/rootfs/usr/lib64/libmine.so")" = mine
mkdir -p "$B/rootfs/dev/dri"; chmod 700 "$B/rootfs/dev/dri"
run hook "$B" chmod --mode 755 --path /dev/dri; expect_rc "chmod" 0
check "  ... mode 755" test "$(stat -c %a "$B/rootfs/dev/dri")" = 755
run hook "$B" chmod --mode 4755 --path /dev/dri; expect_rc "chmod with set-id bits: refused" 1

# ---- 2. under runc, through a generated spec ------------------------------------------
if ! command -v runc >/dev/null; then
  skip "runc container with the hooks" "runc not installed"
  finish; exit $?
fi
H=$WORK/fakehost
REALLIBS=1 LIBDIR=/usr/lib64 bash "$root/tests/fakehost/mkhost.sh" "$H" nvidia 1 >/dev/null
run env ZAGENT_HOST_ROOT="$H" "$ZAGENT" cdi generate --vendor nvidia --hook-path "$HOOK" -o "$WORK/gen.json"
expect_rc "cdi generate (host libraries in /usr/lib64)" 0
# The fake host's files live under $H: mount them from there; no device
# nodes (the fake's numbers are not real devices).
# A sanitized hook cannot always run LeakSanitizer under runc: hooks run in
# the container's pid namespace while /proc is still the host's, so its
# /proc/<pid>/task is someone else's or missing.  Leak checks off there.
SANITIZED=0; nm -D "$HOOK" 2>/dev/null | grep -q __asan && SANITIZED=1
mkspec () { # mkspec OUT HOOKS(0|1)
  python3 - "$WORK/gen.json" "$1" "$H" "$2" "$SANITIZED" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); e = c['containerEdits']
e.pop('deviceNodes', None)
for h in e.get('hooks', []):
    if sys.argv[5] == '1': h['env'].append('ASAN_OPTIONS=detect_leaks=0')
for m in e['mounts']: m['hostPath'] = sys.argv[3] + m['hostPath']
if sys.argv[4] == '0': e.pop('hooks', None)
c['devices'] = [{'name': '0', 'containerEdits': {'env': ['GPU_TEST=1']}}]
json.dump(c, open(sys.argv[2], 'w'))
PY
}
mkdir -p "$WORK/cdi" "$WORK/cdi-nohook"
mkspec "$WORK/cdi/nvidia.json" 1; mkspec "$WORK/cdi-nohook/nvidia.json" 0
rootfs () { # rootfs DIR: busybox + the host's static ldconfig + a static dlopen test
  "$root/scripts/mkrootfs.sh" "$1"
  mkdir -p "$1/sbin" "$1/usr/lib64"; cp "$LDCONFIG" "$1/sbin/ldconfig"
  cp "$WORK/dl" "$1/dlopen-test"
}
cat > "$WORK/dl.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main (void) {
  void *h = dlopen ("libcuda.so.1", RTLD_NOW);
  if (!h) { printf ("DLOPEN_FAILED\n"); return 1; }
  int (*f) (unsigned) = (int (*) (unsigned)) dlsym (h, "cuInit");
  printf ("cuInit=%d\n", f ? f (0) : -1);
  return 0;
}
C
gcc -static -o "$WORK/dl" "$WORK/dl.c" 2>/dev/null
cat > "$WORK/svc.yaml" <<'Y'
version: v1
deployment: hook-e2e
services:
  app:
    image: {name: busybox}
    command:
      entrypoint: ["/bin/sh", "-c"]
      args: ["/sbin/ldconfig -p; /dlopen-test; ls -l /usr/lib64"]
Y
runc_with () { # runc_with NAME CDIDIR ID: bundle, inject, run; sets out/rc
  rootfs "$WORK/rootfs-$1"
  rootfs_hook "$WORK/rootfs-$1"
  run "$ZAGENT" bundle -f "$WORK/svc.yaml" -b "$WORK/b-$1" --rootfs "$WORK/rootfs-$1" --no-rootless
  expect_rc "bundle ($1)" 0
  run "$ZAGENT" cdi inject -b "$WORK/b-$1" --cdi-dir "$2" nvidia.com/gpu=0
  expect_rc "cdi inject the generated spec ($1)" 0
  if "$root/../shared/tools/validate-oci-config" -q "$WORK/b-$1/config.json" >/dev/null 2>&1; then ok "config.json valid ($1)"
  else not_ok "config.json valid ($1)"; fi
  out=$(cd "$WORK/b-$1" && timeout 60 runc run "$3" 2>&1); rc=$?
  runc delete -f "$3" >/dev/null 2>&1
}
# A hostile image: its ld.so.conf names a host directory through the
# container's /proc (mounted in the rootfs when createContainer hooks run):
# ldconfig must neither scan it (soname links written on the host) nor
# list its libraries.
mkdir -p "$WORK/hostlibs"
gcc -shared -fPIC -nostdlib -Wl,-soname,libevil.so.1 -o "$WORK/hostlibs/libevil.so.1.0" "$WORK/cuda.c"
rootfs_hook () { printf '/proc/1/root%s\n/proc/self/root%s\n' "$WORK/hostlibs" "$WORK/hostlibs" > "$1/etc/ld.so.conf"; }
runc_with hooks "$WORK/cdi" "$ID"
if [ "$rc" = 0 ]; then ok "runc runs the container with the hooks"; else not_ok "runc runs the container with the hooks" "$(echo "$out" | tail -5)"; fi
check "  ... ldconfig -p in the container lists libcuda.so.1 in /usr/lib64" grep -q 'libcuda.so.1 (libc6,x86-64) => /usr/lib64/libcuda.so.1' <<<"$out"
check "  ... a program dlopen()s libcuda.so.1 and calls cuInit" grep -qx 'cuInit=42' <<<"$out"
check "  ... create-symlinks made libcuda.so" test "$(readlink "$WORK/rootfs-hooks/usr/lib64/libcuda.so")" = libcuda.so.1
run "$LDCONFIG" -p -C "$WORK/rootfs-hooks/etc/ld.so.cache"
check "  ... the cache left in the rootfs lists it too (ldconfig -p -C on the host)" grep -q 'libcuda.so.1 .*=> /usr/lib64/libcuda.so.1' <<<"$out"
check "  ... a host directory named through /proc is not scanned (no link written there)" test "$(ls "$WORK/hostlibs")" = libevil.so.1.0
check "  ... nor listed in the container's cache" test -z "$(grep libevil <<<"$out")"
rootfs_hook () { :; }
runc_with nohooks "$WORK/cdi-nohook" "$ID-b"
check "without the hooks the same dlopen fails (what the hook is for)" grep -qx DLOPEN_FAILED <<<"$out"
finish
