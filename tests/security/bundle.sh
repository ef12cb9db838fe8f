#!/bin/bash
# Security tests of bundle directories (TAP).  zagent must never write a
# bundle into, nor remove, a directory it did not make; never follow a
# symlink anywhere on the bundle path (an unprivileged user flipping a
# parent component must not redirect root's writes or removals); and trust
# only bundle directories that the caller owns and nobody else can write
# to (planted log symlinks, config.json swaps, resolv.conf symlinks).
# The other user is `nobody`; the attacks need root, runc for `run`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
WORK=$(mktemp -d /tmp/zagent-sec-bundle.XXXXXX)
export ZLAYER_DATA_DIR=$WORK/data
RTROOT=$ZLAYER_DATA_DIR/run/runc
flipper=
. "$root/tests/e2e/lib.sh"
cleanup () {
  [ -n "$flipper" ] && kill "$flipper" 2>/dev/null && wait "$flipper" 2>/dev/null
  for c in $(runc --root "$RTROOT" list -q 2>/dev/null); do runc --root "$RTROOT" delete -f "$c" >/dev/null 2>&1; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/ok.yaml" <<'Y'
version: v1
deployment: sec
services:
  web:
    image: {name: busybox}
    dns: ["10.0.0.2"]
Y
# tree DIR: every entry with its type, mode, owner and content hash, to
# tell "untouched" from "touched"
tree () { (cd "$1" && find . -printf '%p %y %m %u\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snap () { tree "$1" > "$WORK/$2.tree"; }
same () { tree "$1" | cmp -s - "$WORK/$2.tree"; }
# a user's directory: files zagent did not make
mkhome () { mkdir -p "$1/sub"; echo keep > "$1/important.txt"; echo notes > "$1/sub/notes"; }

# ---- 6: directories that are not bundles ------------------------------------
mkhome "$WORK/home"; snap "$WORK/home" home
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/home"
expect_rc "bundle -b into a non-empty directory that is not a bundle exits 2" 2
check "the refusal says why" grep -q "not a zagent bundle" <<<"$err"
check "the directory is untouched" same "$WORK/home" home
run "$ZAGENT" cleanup -b "$WORK/home"
expect_rc "cleanup -b of a directory that is not a bundle exits 2" 2
check "the directory is untouched by cleanup" same "$WORK/home" home
# a config.json of the user's own does not make a bundle
mkhome "$WORK/home2"; echo '{"mine": 1}' > "$WORK/home2/config.json"; snap "$WORK/home2" home2
run "$ZAGENT" cleanup -b "$WORK/home2"
expect_rc "cleanup -b of a directory with config.json and other files exits 2" 2
check "that directory is untouched" same "$WORK/home2" home2
# a directory zagent made stays removable, and an empty one is adopted
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/fresh"
expect_rc "bundle -b into a new directory exits 0" 0
check "its listing is the bundle's files only" test "$(ls -A "$WORK/fresh" | tr '\n' ' ')" = "config.json resolv.conf rootfs "
echo later > "$WORK/fresh/notes"
run "$ZAGENT" cleanup -b "$WORK/fresh"
expect_rc "cleanup of a bundle zagent made exits 0, whatever was added to it" 0
check "it is gone" test ! -e "$WORK/fresh"

if [ "$(id -u)" != 0 ]; then
  skip "attacks by another user" "needs root"; finish; exit
fi
chmod 755 "$WORK"
as_nobody () { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

if command -v runc >/dev/null; then
  "$root/scripts/mkrootfs.sh" "$WORK/rootfs"
  mkhome "$WORK/home3"; snap "$WORK/home3" home3
  run "$ZAGENT" run -f "$WORK/ok.yaml" -b "$WORK/home3" --rootfs "$WORK/rootfs" -- /bin/true
  expect_rc "run -b into a directory that is not a bundle exits 125" 125
  check "run's teardown left the user's files" same "$WORK/home3" home3
else
  skip "run -b into a directory that is not a bundle" "no runc"
fi

# ---- 7: symlinks anywhere on the path -----------------------------------------
# secret: root-only, 20 files of root's; x: nobody's, x/link -> secret
mkdir -m 700 "$WORK/secret" "$WORK/secret/b"
for i in $(seq 20); do echo "root file $i" > "$WORK/secret/b/f$i"; done
snap "$WORK/secret" secret
mkdir "$WORK/x"; chown nobody: "$WORK/x"
as_nobody ln -s "$WORK/secret" "$WORK/x/link"
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/x/link/b"
expect_rc "bundle -b through a symlinked parent exits 2" 2
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/x/link/new"
expect_rc "bundle -b of a new directory through a symlinked parent exits 2" 2
run "$ZAGENT" cleanup -b "$WORK/x/link/b"
expect_rc "cleanup -b through a symlinked parent exits 2" 2
check "nothing written or removed behind the symlink" same "$WORK/secret" secret
# the same link in a directory of root's: still not followed
mkdir "$WORK/y"; ln -s "$WORK/secret" "$WORK/y/link"
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/y/link/b"
expect_rc "bundle -b through root's own symlinked parent exits 2" 2
check "the refusal names the symlink" grep -q "y/link\` is a symlink" <<<"$err"
check "still nothing behind the symlink" same "$WORK/secret" secret

# nobody swaps x/p between a directory and a symlink to secret (atomic
# RENAME_EXCHANGE) while root builds and removes x/p/b in a loop
mkdir "$WORK/x/p"; chown nobody: "$WORK/x/p"
as_nobody ln -s "$WORK/secret" "$WORK/x/q"
cat > "$WORK/flip.py" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
os.chdir(sys.argv[1])
end = time.time() + float(sys.argv[2])
while time.time() < end:
    libc.renameat2(-100, b"p", -100, b"q", 2)
PY
as_nobody /usr/bin/python3 "$WORK/flip.py" "$WORK/x" 4 & flipper=$!
# wait until the flipper is seen swapping
flips=0
for i in $(seq 100); do
  [ -L "$WORK/x/p" ] && flips=$((flips | 1)); [ -d "$WORK/x/p" ] && [ ! -L "$WORK/x/p" ] && flips=$((flips | 2))
  [ $flips = 3 ] && break
  sleep 0.01
done
check "the flipper swaps x/p between a directory and a symlink" test $flips = 3
bad=0 tries=0
end=$((SECONDS + 3))
while [ $SECONDS -lt $end ]; do
  tries=$((tries + 1))
  "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/x/p/b" >/dev/null 2>&1 && bad=$((bad + 1))
  "$ZAGENT" cleanup -b "$WORK/x/p/b" >/dev/null 2>&1
  [ -d "$WORK/secret/b" ] || break
done
wait "$flipper"; flipper=
check "racing a parent symlink: no bundle built under nobody's directory ($bad of $tries)" test $bad = 0
check "racing a parent symlink: the root-only directory is untouched" same "$WORK/secret" secret

# ---- 8: bundle directories another user owns or may write to --------------------
mkdir "$WORK/theirs"; chown nobody: "$WORK/theirs"
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/theirs"
expect_rc "bundle -b into a directory owned by nobody exits 2" 2
check "nothing written into it" test -z "$(ls -A "$WORK/theirs")"
mkdir "$WORK/theirs2"; chown nobody: "$WORK/theirs2"
as_nobody sh -c "echo '{}' > '$WORK/theirs2/config.json'"; snap "$WORK/theirs2" theirs2
run "$ZAGENT" cleanup -b "$WORK/theirs2"
expect_rc "cleanup -b of a bundle directory owned by nobody exits 2" 2
check "it is untouched" same "$WORK/theirs2" theirs2
mkdir -m 777 "$WORK/open"; chmod 777 "$WORK/open"
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/open"
expect_rc "bundle -b into a mode 0777 directory exits 2" 2
check "nothing written into it" test -z "$(ls -A "$WORK/open")"
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/open/b"
expect_rc "bundle -b under a mode 0777 parent exits 2" 2
check "nothing created in it" test -z "$(ls -A "$WORK/open")"

# 8a: a planted logs/stdout.log symlink gets no line (run -d opens the logs)
echo "root data" > "$WORK/rootfile"; chmod 600 "$WORK/rootfile"
cp "$WORK/rootfile" "$WORK/rootfile.orig"
if command -v runc >/dev/null; then
  for who in nobody root; do
    d=$WORK/logs-$who
    mkdir -m 700 "$d" "$d/logs"
    ln -s "$WORK/rootfile" "$d/logs/stdout.log"
    [ $who = nobody ] && chown -R -h nobody: "$d"
    run "$ZAGENT" run -d -f "$WORK/ok.yaml" -b "$d" --rootfs "$WORK/rootfs" -- /bin/echo planted
    check "run -d with a planted logs/stdout.log symlink ($who's bundle dir) fails" test "$rc" != 0
    "$ZAGENT" rm -f web-rep-1 >/dev/null 2>&1
    sleep 0.2
    check "the symlink's target got no line ($who's bundle dir)" cmp -s "$WORK/rootfile" "$WORK/rootfile.orig"
  done
else
  skip "run -d with a planted logs/stdout.log symlink" "no runc"
fi

# 8c: resolv.conf -> a 0600 root file; config.json a directory so the write
# fails and rolls back
echo "TOPSECRET-$$" > "$WORK/shadow"; chmod 600 "$WORK/shadow"
for who in nobody root; do
  d=$WORK/dns-$who
  mkdir -m 700 "$d" "$d/config.json"
  ln -s "$WORK/shadow" "$d/resolv.conf"
  [ $who = nobody ] && chown -R -h nobody: "$d"
  run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$d"
  check "bundle into $who's directory with a resolv.conf symlink fails" test "$rc" != 0
  check "the secret's content is in no file of the bundle ($who)" test -z "$(grep -rl "TOPSECRET-$$" "$d")"
  check "resolv.conf is still the symlink ($who)" test -L "$d/resolv.conf"
done
check "the secret file itself is unchanged" test "$(stat -c %a "$WORK/shadow")" = 600 -a "$(cat "$WORK/shadow")" = "TOPSECRET-$$"

finish
