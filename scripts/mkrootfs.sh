#!/bin/sh
# Make a minimal busybox root filesystem in DIR (Debian's busybox-static):
# every applet as a symlink, /etc/passwd and /etc/group with root, nobody
# and an `app` user (uid 1000) for user-name resolution.
set -eu
dir=$1
bb=$(command -v busybox || echo /bin/busybox)
mkdir -p "$dir/bin" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root" "$dir/home/app"
cp "$bb" "$dir/bin/busybox"
for a in $("$dir/bin/busybox" --list); do
  [ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
done
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dir/etc/group" <<'G'
root:x:0:
app:x:1000:
www:x:33:app
nogroup:x:65534:
G
chmod 1777 "$dir/tmp"
