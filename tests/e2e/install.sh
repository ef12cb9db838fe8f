#!/bin/bash
# make install / make uninstall round trip into a DESTDIR, with PREFIX=/usr
# and then another prefix on the same build dir (the prefix of each call,
# never the previous one's): the files, zagent.pc's prefix, a program built
# against the staged library, nothing written outside DESTDIR, and nothing
# left after uninstall.  Builds into its own temporary build dir (never
# reconfigures the build dir the other tests use).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
WORK=$(mktemp -d /tmp/zagent-install.XXXXXX)
. "$here/lib.sh"
OPT=/opt/zagent-install-test-$$
trap 'rm -rf "$WORK"' EXIT

# $1: the b_sanitize of the calling build.  The test builds its own plain
# tree, so the sanitizer build of `make check` would only repeat it.
if [ -n "${1:-}" ] && [ "$1" != none ]; then
  skip "install round trip" "run in the plain build (this one is -Db_sanitize=$1; the test builds its own tree)"
  finish; exit
fi

B=$WORK/build
# Its own build dir, unoptimised (the fastest to compile); make install
# reconfigures it for each PREFIX.
meson setup "$B" "$root" -Dtests=false -Dbuildtype=plain >/dev/null 2>"$WORK/setup.err" \
  || { not_ok "meson setup of a private build dir" "$(tail -3 "$WORK/setup.err")"; finish; exit; }
# What a real install at these prefixes would touch, before and after.
snapshot () {
  ls -ld --time-style=full-iso /usr/bin/zagent* /usr/include/zagent.h /usr/lib/*/libzagent* \
    /usr/lib/*/pkgconfig/zagent.pc /usr/share/man/man?/zagent* /usr/share/bash-completion/completions/zagent \
    "$OPT" 2>/dev/null
}
before=$(snapshot)
man_built=0
command -v scdoc >/dev/null && man_built=1

# stage PREFIX DESTDIR: make install, checks, make uninstall, checks
stage () {
  local prefix=$1 dest=$2 pc lib
  make -s -C "$root" install BUILD="$B" PREFIX="$prefix" DESTDIR="$dest" >"$WORK/log" 2>&1; rc=$?
  check "make install PREFIX=$prefix DESTDIR=… exits 0" test $rc = 0
  [ $rc = 0 ] || sed 's/^/#   /' "$WORK/log" | tail -20
  local p=$dest$prefix
  for f in bin/zagent bin/zagent-runtime include/zagent.h share/bash-completion/completions/zagent; do
    check "installs $prefix/$f" test -f "$p/$f"
  done
  if [ $man_built = 1 ]; then
    for f in man1/zagent.1 man8/zagent-runtime.8 man5/zagent-spec.5; do
      check "installs $prefix/share/man/$f" test -f "$p/share/man/$f"
    done
  fi
  lib=$(ls -d "$p"/lib*/libzagent.so.0.* "$p"/lib/*/libzagent.so.0.* 2>/dev/null | head -1)
  check "installs libzagent.so.0.* under $prefix/lib" test -n "$lib"
  lib=$(dirname "${lib:-/nonexistent/x}")
  check "libzagent.so and .so.0 link to it" test -L "$lib/libzagent.so" -a -L "$lib/libzagent.so.0" -a -e "$lib/libzagent.so"
  pc=$lib/pkgconfig/zagent.pc
  check "zagent.pc says prefix=$prefix" grep -qx "prefix=$prefix" "$pc"
  check "everything installed is under DESTDIR$prefix" \
    test -z "$(find "$dest" -mindepth 1 \( -type f -o -type l \) ! -path "$p/*" -print -quit)"
  check "the install log names only paths under DESTDIR" \
    test -z "$(grep -v "^#" "$B/meson-logs/install-log.txt" | grep -v -e "^$dest/" -e "^$dest\$")"
  check "the staged zagent runs" sh -c '"$1" --version >/dev/null' _ "$p/bin/zagent"
  # A program against the staged header and library, through zagent.pc.
  printf '#include <zagent.h>\nint main (void) { zagent_options *o = zagent_options_new (); zagent_options_free (o); return 0; }\n' \
    >"$WORK/use.c"
  PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest \
    sh -c 'cc -o "$1/use" "$1/use.c" $(pkg-config --cflags --libs zagent)' _ "$WORK" 2>"$WORK/cc.err"
  check "a program builds against the staged zagent.pc" test -x "$WORK/use"
  check "... and runs with the staged library" env LD_LIBRARY_PATH="$lib" "$WORK/use"
  rm -f "$WORK/use"

  make -s -C "$root" uninstall BUILD="$B" PREFIX="$prefix" DESTDIR="$dest" >"$WORK/log" 2>&1; rc=$?
  check "make uninstall PREFIX=$prefix DESTDIR=… exits 0" test $rc = 0
  check "uninstall leaves nothing in DESTDIR" test -z "$(find "$dest" -mindepth 1 -print -quit)"
}

stage /usr "$WORK/stage-usr"
stage "$OPT" "$WORK/stage-opt"
check "nothing under DESTDIR/usr when PREFIX=$OPT (no stale install plan)" test ! -e "$WORK/stage-opt/usr"
# Back to /usr: the prefix of this call again, and a DESTDIR relative to
# the directory make runs in.
rel=$(realpath -m --relative-to="$root" "$WORK/rel/stage")
make -s -C "$root" install BUILD="$B" PREFIX=/usr DESTDIR="$rel" >/dev/null 2>&1
check "a relative DESTDIR is taken from make's directory" test -f "$WORK/rel/stage/usr/bin/zagent"
check "... with the prefix of this call" grep -qx "prefix=/usr" "$WORK"/rel/stage/usr/lib*/*/pkgconfig/zagent.pc
make -s -C "$root" uninstall BUILD="$B" PREFIX=/usr DESTDIR="$rel" >/dev/null 2>&1
check "... and uninstalled from there" test -z "$(find "$WORK/rel/stage" -mindepth 1 -print -quit)"

check "nothing written outside DESTDIR (/usr, $OPT untouched)" test "$(snapshot)" = "$before"
finish
