#!/bin/bash
# Hostile inputs around secrets, CDI spec files and the zagent-runtime
# shim (TAP):
#   * a secret that is a symlink (to a root-only file), or that sits below
#     a symlinked scope/service directory, is refused and never read; a
#     FIFO as a secret fails at once instead of hanging;
#   * CDI spec files never have their content echoed: a symlink to a
#     root-only file, unknown keys and bad values are reported by position
#     and schema key names only; a spec symlink out of its directory that
#     someone else owns is not followed;
#   * a relative CDI hook path is refused;
#   * ZAGENT_SHIM_RUNTIME naming the shim itself (or a link or copy of it)
#     fails at once with one line instead of exec'ing itself forever.
#   tests/security/inputs.sh ZAGENT      (the shim is ZAGENT's neighbour zagent-runtime)
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHIM=$(dirname "$ZAGENT")/zagent-runtime
WORK=$(mktemp -d /tmp/zagent-sec-inputs.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$root/tests/e2e/lib.sh"
export LC_ALL=C
# No cgroup probing, no CDI dirs of this host.
export ZLAYER_CGROUP_PARENT=/zagent-sec-inputs
export CDI_SPEC_DIRS=$WORK/no-cdi

MARK="zagent-sec-marker-$$-$RANDOM"
# neither MARK nor any part of a shadow line in $out or $err
no_mark () { # no_mark NAME
  if grep -q -e "$MARK" -e 'root:\$6\$' <<<"$out$err"; then
    not_ok "$1" "stdout: $(head -c 300 <<<"$out")" "stderr: $(head -c 300 <<<"$err")"
  else ok "$1"; fi
}
one_line () { # one_line NAME: stderr is exactly one line
  if [ -n "$err" ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; then ok "$1"
  else not_ok "$1" "stderr: $err"; fi
}

# ---- secrets ------------------------------------------------------------------
S=$WORK/secrets
OUT=$WORK/outside
mkdir -p "$S/demo/web" "$S/demo/realsvc" "$OUT/svc"
chmod 700 "$OUT"
printf '%s\n' "$MARK-root-only" > "$OUT/root-only"; chmod 600 "$OUT/root-only"
printf '%s' "$MARK-svc" > "$OUT/svc/key"; chmod 600 "$OUT/svc/key"
printf 'plain-value' > "$S/demo/plain"
printf 'svc-value' > "$S/demo/realsvc/key"
ln -s "$OUT/root-only" "$S/demo/shadowlink"
ln -s "$OUT/svc" "$S/demo/linksvc"
ln -s demo "$S/linkscope"
mkfifo "$S/demo/fifo"
spec_with () { # spec_with REF: a spec whose service web has A=$S:REF
  printf 'version: v1\ndeployment: demo\nservices:\n  web:\n    image: {name: nginx}\n    env:\n      A: $S:%s\n' "$1" \
    > "$WORK/s.yaml"
}

spec_with plain
run "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$S"
expect_rc "a regular secret resolves" 0
check "its value reaches the env" grep -q '"A=plain-value"' <<<"$out"
spec_with @realsvc/key
run "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$S"
expect_rc "a regular service secret resolves" 0

spec_with shadowlink
run timeout 10 "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$S"
expect_rc "a secret symlinked to a root-only file: exit 2" 2
no_mark "symlinked secret: its target's content is nowhere in the output"
check "symlinked secret: the error names the secret" grep -q 'secret `shadowlink`: .* is or passes through a symlink' <<<"$err"

spec_with @linksvc/key
run timeout 10 "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$S"
expect_rc "a symlinked service directory: exit 2" 2
no_mark "symlinked service directory: no content"
check "symlinked service directory: refused as a symlink" grep -q 'linksvc/key` is or passes through a symlink' <<<"$err"

spec_with plain
run timeout 10 "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$S" --scope linkscope
expect_rc "a symlinked scope directory: exit 2" 2
check "symlinked scope directory: refused as a symlink" grep -q 'linkscope/plain` is or passes through a symlink' <<<"$err"

ln -s "$S" "$WORK/secrets-link"
run "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$WORK/secrets-link"
expect_rc "the secrets directory itself may be a symlink (the caller names it)" 0

spec_with fifo
start=$SECONDS
run timeout 5 "$ZAGENT" spec -f "$WORK/s.yaml" -s web --secrets-dir "$S"
expect_rc "a FIFO as a secret fails fast with exit 2 (not 124: hung)" 2
check "FIFO secret: failed within 5 seconds" test $((SECONDS - start)) -lt 5
check "FIFO secret: named as not a regular file" grep -q 'secret `fifo`: .* is not a regular file' <<<"$err"

# ---- CDI: never echo content ----------------------------------------------------
D=$WORK/cdi
mkdir -p "$D"
printf 'root:%s:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' "\$6\$$MARK" > "$OUT/shadow"
chmod 600 "$OUT/shadow"
cat > "$D/good.yaml" <<Y
cdiVersion: "0.5.0"
kind: sec.test/dev
devices:
  - name: d0
    containerEdits:
      env: [GOOD=1]
Y
ln -s "$OUT/shadow" "$D/shadow.yaml"

run "$ZAGENT" cdi list --cdi-dir "$D"
expect_rc "cdi list with a spec symlinked to a root-only file: exit 2 (a file failed, issue 10)" 2
check "cdi list: the good spec's device is listed" grep -qx "sec.test/dev=d0" <<<"$out"
check "cdi list: the broken file is reported by position" grep -q "shadow.yaml:1:1: unknown field (name not shown)" <<<"$err"
no_mark "cdi list: no content of the symlinked file"
run "$ZAGENT" cdi list --json --cdi-dir "$D"
no_mark "cdi list --json: no content of the symlinked file"
run "$ZAGENT" cdi validate "$D/shadow.yaml"
expect_rc "cdi validate of the symlink: exit 2" 2
no_mark "cdi validate: no content of the symlinked file"
run "$ZAGENT" cdi resolve --cdi-dir "$D" sec.test/dev=d0
expect_rc "cdi resolve next to it: exit 0" 0
no_mark "cdi resolve: no content of the symlinked file"

# Someone else's symlink out of the directory is not even followed.
if [ "$(id -u)" = 0 ]; then
  chown -h 65534:65534 "$D/shadow.yaml"
  run "$ZAGENT" cdi list --cdi-dir "$D"
  expect_rc "cdi list with another user's symlink out of the dir: exit 2 (a file failed)" 2
  check "that symlink is not followed" grep -q "shadow.yaml: CDI spec file is a symlink out of its directory owned by uid 65534; not followed" <<<"$err"
  no_mark "not followed: no content"
  chown -h 0:0 "$D/shadow.yaml"
else
  skip "another user's symlink out of the spec dir" "needs root for lchown"
fi

# A spec file, regular, written to smuggle text into messages: unknown keys
# and bad values are described, never quoted; only schema key names appear.
printf 'cdiVersion: "0.5.0"\nkind: sec.test/x\n"root:$6$%s": 1\n%s-key: 2\ndevices:\n  - name: d\n    %s: 1\n    containerEdits:\n      env: "%s-env"\n      deviceNodes:\n        - {path: /dev/x, major: %s-major, fileMode: "%s", minor: !%s 1, %s: 0}\n      additionalGids: [%s-gid]\n    annotations: {"%s-ann": [1], dup: a, dup: b}\n' \
  "$MARK" "$MARK" "$MARK" "$MARK" "$MARK" "$MARK" "$MARK" "$MARK" "$MARK" "$MARK" > "$WORK/smuggle.yaml"
run "$ZAGENT" cdi validate "$WORK/smuggle.yaml"
expect_rc "cdi validate of a file with smuggled keys and values: exit 2" 2
no_mark "smuggled keys and values: never quoted"
nlines=$(grep -c "" <<<"$err")
check "smuggled keys and values: each problem reported ($nlines lines)" test "$nlines" -ge 9
names=$(grep -o '`[^`]*`' <<<"$err" | sort -u | tr -d '`' | tr '\n' ' ')
bad_names=""
for k in $names; do
  case " cdiVersion kind annotations devices containerEdits name env deviceNodes mounts hooks intelRdt additionalGids netDevices path hostPath type major minor fileMode permissions uid gid " in
    *" $k "*) ;;
    *) bad_names="$bad_names $k" ;;
  esac
done
check "smuggled keys and values: only schema key names in backticks" test -z "$bad_names"
cp "$WORK/smuggle.yaml" "$D/smuggle.yaml"
run "$ZAGENT" cdi list --cdi-dir "$D"
no_mark "cdi list of the smuggling file: never quoted"
rm "$D/smuggle.yaml"

# libyaml's own messages carry no input either.
printf 'a: [%s\n' "$MARK" > "$WORK/syntax.yaml"
run "$ZAGENT" cdi validate "$WORK/syntax.yaml"
expect_rc "a YAML syntax error: exit 2" 2
no_mark "a YAML syntax error: no content"

# ---- CDI: relative hook path ------------------------------------------------------
cat > "$WORK/hook.yaml" <<Y
cdiVersion: "0.5.0"
kind: sec.test/hook
devices:
  - name: d
    containerEdits:
      hooks:
        - {hookName: createContainer, path: bin/relative-hook}
Y
run "$ZAGENT" cdi validate "$WORK/hook.yaml"
expect_rc "a relative hook path: cdi validate exits 2" 2
check "the error names the hook and its path" \
  grep -q 'hook.yaml:7:45: failed add device "d": invalid hook "createContainer": path "bin/relative-hook" is not absolute' <<<"$err"
sed -i 's|path: bin/relative-hook|path: /usr/bin/absolute-hook|' "$WORK/hook.yaml"
run "$ZAGENT" cdi validate "$WORK/hook.yaml"
expect_rc "an absolute hook path validates" 0

# ---- the shim must not exec itself --------------------------------------------------
if [ -x "$SHIM" ]; then
  ln -s "$SHIM" "$WORK/shim-symlink"
  ln "$SHIM" "$WORK/shim-hardlink" 2>/dev/null || cp "$SHIM" "$WORK/shim-hardlink"
  cp "$SHIM" "$WORK/shim-copy"
  for rt in "$SHIM" "$WORK/shim-symlink" "$WORK/shim-hardlink" "$WORK/shim-copy"; do
    what=${rt##*/}
    start=$SECONDS
    run env ZAGENT_SHIM_RUNTIME="$rt" timeout 5 "$SHIM" state some-container
    expect_rc "ZAGENT_SHIM_RUNTIME=$what: the shim exits 1 at once (124: it looped)" 1
    check "ZAGENT_SHIM_RUNTIME=$what: within 5 seconds" test $((SECONDS - start)) -lt 5
    one_line "ZAGENT_SHIM_RUNTIME=$what: one line on stderr"
    check "ZAGENT_SHIM_RUNTIME=$what: the line says why" grep -q '^zagent-runtime: .*ZAGENT_SHIM_RUNTIME' <<<"$err"
  done
  # a bundle the shim would inject into is left alone when it refuses
  mkdir -p "$WORK/bundle"
  printf '{"ociVersion":"1.0.2","annotations":{"cdi.k8s.io/x":"sec.test/dev=d0"}}\n' > "$WORK/bundle/config.json"
  before=$(sha256sum "$WORK/bundle/config.json")
  run env CDI_SPEC_DIRS="$D" ZAGENT_SHIM_RUNTIME="$SHIM" timeout 5 "$SHIM" create --bundle "$WORK/bundle" c1
  expect_rc "create with the shim as its own runtime: exit 1" 1
  check "create refused before touching config.json" test "$before" = "$(sha256sum "$WORK/bundle/config.json")"
  # started by another shim (the marker is set): refused even for a real runtime
  run env ZAGENT_SHIM_DEPTH=1 ZAGENT_SHIM_RUNTIME=/bin/true timeout 5 "$SHIM" state x
  expect_rc "a shim started by a shim: exit 1" 1
  one_line "a shim started by a shim: one line"
  # … while a real runtime still runs, without the marker in our env
  run env ZAGENT_SHIM_RUNTIME=/bin/echo timeout 5 "$SHIM" state x
  expect_rc "a real runtime is exec'd" 0
  check "with the same arguments" test "$out" = "state x"
else
  skip "zagent-runtime loop detection" "no shim next to $ZAGENT"
fi

# ---- the shim injects as strictly as `zagent cdi inject` ------------------------------
# Both call zagent_cdi_inject_bundle: duplicate JSON keys are refused, no
# symlink is followed, config.json keeps its mode and is replaced whole.
if [ -x "$SHIM" ]; then
  SC=$WORK/shim-cdi SB=$WORK/shim-bundle
  mkdir -p "$SC" "$SB"
  printf 'cdiVersion: "0.3.0"\nkind: sec.test/shim\ndevices:\n- {name: d0, containerEdits: {env: [SHIM_D0=1]}}\n' > "$SC/shim.yaml"
  shim_create () { # shim_create BUNDLE: the shim's create, with echo as the real runtime
    run env CDI_SPEC_DIRS="$SC" ZAGENT_SHIM_RUNTIME=/bin/echo timeout 5 "$SHIM" create --bundle "$1" c1
  }
  printf '{"ociVersion": "1.0.2", "process": {"env": []},\n "annotations": {"cdi.k8s.io/x": "sec.test/shim=d0"},\n "process": {"env": ["%s"]}}\n' \
    "$MARK" > "$SB/config.json"
  before=$(sha256sum "$SB/config.json")
  shim_create "$SB"
  expect_rc "shim: a config.json with a duplicate key is refused (exit 1)" 1
  one_line "shim: duplicate key: one line"
  check "shim: duplicate key: the line names the file and the problem" \
    grep -q "^zagent-runtime: $SB/config.json:3:[0-9]*: invalid JSON: duplicate object key" <<<"$err"
  check "shim: duplicate key: config.json untouched" test "$before" = "$(sha256sum "$SB/config.json")"
  no_mark "shim: duplicate key: the config's values are not echoed"
  # a symlinked config.json is neither followed nor replaced
  mv "$SB/config.json" "$WORK/shim-target.json"
  printf '{"ociVersion": "1.0.2", "annotations": {"cdi.k8s.io/x": "sec.test/shim=d0"}}\n' > "$WORK/shim-target.json"
  ln -s "$WORK/shim-target.json" "$SB/config.json"
  before=$(sha256sum "$WORK/shim-target.json")
  shim_create "$SB"
  expect_rc "shim: a symlinked config.json is refused (exit 1)" 1
  check "shim: symlinked config.json: the line says so" grep -q "config.json. is a symlink; refusing to follow it" <<<"$err"
  check "shim: symlinked config.json: still a symlink, target untouched" \
    test -L "$SB/config.json" -a "$before" = "$(sha256sum "$WORK/shim-target.json")"
  # a symlinked bundle is refused
  rm "$SB/config.json"; cp "$WORK/shim-target.json" "$SB/config.json"; chmod 0644 "$SB/config.json"
  ln -s "$SB" "$WORK/shim-bundle-link"
  shim_create "$WORK/shim-bundle-link"
  expect_rc "shim: a symlinked bundle is refused (exit 1)" 1
  check "shim: symlinked bundle: the line says so" grep -q "is a symlink; refusing to follow it" <<<"$err"
  # the same bundle by its own path: injected, mode kept, then the runtime runs
  shim_create "$SB"
  expect_rc "shim: a valid bundle is injected and the runtime exec'd" 0
  check "shim: the runtime got the same arguments" test "$out" = "create --bundle $SB c1"
  check "shim: the device's env is injected" grep -q '"SHIM_D0=1"' "$SB/config.json"
  check "shim: config.json keeps its mode (0644)" test "$(stat -c %a "$SB/config.json")" = 644
else
  skip "zagent-runtime strict injection" "no shim next to $ZAGENT"
fi

finish
