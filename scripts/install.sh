#!/bin/sh
# make install / make uninstall, for the PREFIX and DESTDIR of this call.
#
# `meson configure --prefix` followed by `meson install --no-rebuild` used
# the install plan of the previous configuration (meson regenerates it only
# on the next build), so the build dir is reconfigured for PREFIX first.
# uninstall removes the files meson lists as installed for that PREFIX
# (meson introspect --installed: binaries, the library and its symlinks,
# the header, zagent.pc, man pages, bash completion) under DESTDIR; with a
# DESTDIR it also removes the directories that are left empty up to
# DESTDIR (a staging tree), without one it leaves directories alone.
#
# Usage: scripts/install.sh install|uninstall BUILD PREFIX [DESTDIR]
set -eu
[ $# -ge 3 ] && [ $# -le 4 ] || { echo "usage: $0 install|uninstall BUILD PREFIX [DESTDIR]" >&2; exit 2; }
mode=$1 build=$2 prefix=$3 destdir=${4:-}
case $prefix in
  /*) ;;
  *) echo "zagent $mode: PREFIX must be an absolute path, got '$prefix'" >&2; exit 2 ;;
esac
case $destdir in
  "" | /*) ;;
  *) destdir=$(pwd)/$destdir ;;
esac
while [ "${destdir%/}" != "$destdir" ]; do destdir=${destdir%/}; done

if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" --prefix="$prefix" >/dev/null
else
  meson setup "$build" --prefix="$prefix" -Dwerror=true -Dtests=false >/dev/null
fi

case $mode in
  install)
    ninja -C "$build"
    DESTDIR=$destdir meson install -C "$build" --no-rebuild
    ;;
  uninstall)
    meson introspect --installed "$build" \
      | python3 -c 'import json, sys; print("\n".join(sorted(set(json.load(sys.stdin).values()))))' \
      | while IFS= read -r f; do
          p=$destdir$f
          if [ -f "$p" ] || [ -L "$p" ]; then
            rm -f "$p"
            echo "Removed $p"
          fi
          [ -n "$destdir" ] || continue
          d=$(dirname "$p")
          while [ "$d" != "$destdir" ] && [ "$d" != / ] && rmdir "$d" 2>/dev/null; do
            d=$(dirname "$d")
          done
        done
    ;;
  *) echo "usage: $0 install|uninstall BUILD PREFIX [DESTDIR]" >&2; exit 2 ;;
esac
