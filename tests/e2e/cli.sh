#!/bin/bash
# End-to-end tests of the zagent CLI: exit codes, error lines, the real
# ZLayer examples, bundles on disk, and bundles run with runc.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ZAGENT=$(realpath "${1:-$root/build/zagent}")
SHARED=${SHARED:-$(realpath "$root/../shared")}
EX=$SHARED/testdata/zlayer-examples
WORK=$(mktemp -d /tmp/zagent-e2e.XXXXXX)
trap 'for c in $(runc list -q 2>/dev/null | grep "^zt-$$-"); do runc delete -f "$c" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
. "$here/lib.sh"
export USER=${USER:-tester}

# ---- basics ----------------------------------------------------------
run "$ZAGENT" --version; expect_rc "--version exits 0" 0
check "--version prints the version" grep -q "^zagent [0-9]" <<<"$out"
run "$ZAGENT" --help; expect_rc "--help exits 0" 0
for c in spec bundle cleanup check; do
  run "$ZAGENT" $c --help; expect_rc "$c --help exits 0" 0
done
run "$ZAGENT" spec --help
for o in --file --service --replica --image-config --hostname --cwd --env --host-network --volume --socket --secrets-dir --scope --rootless --no-rootless --device --cdi-dir; do
  check "spec --help documents $o" grep -q -- "$o" <<<"$out"
done
run "$ZAGENT" frobnicate; expect_rc "unknown command exits 2" 2
run "$ZAGENT" spec; expect_rc "spec without -f exits 2" 2
run "$ZAGENT" spec -f "$WORK/missing.yaml"; expect_rc "missing spec file exits 2" 2
run "$ZAGENT" spec -f "$root/examples/hello.yaml" --bogus; expect_rc "unknown option exits 2" 2

# ---- the real ZLayer examples against INDEX.md ------------------------
while IFS='|' read -r _ file parses validates _; do
  file=$(echo $file); parses=$(echo $parses); validates=$(echo $validates)
  case "$file" in *.yaml|*.yml) ;; *) continue ;; esac
  run "$ZAGENT" check -f "$EX/$file"
  if [ "${parses%% *}" = yes ] && [ "${validates%% *}" = yes ]; then
    expect_rc "check $file: valid" 0
  else
    expect_rc "check $file: invalid (exit 2)" 2
    if grep -qE "^$EX/$file:[0-9]+:[0-9]+: " <<<"$err"; then ok "check $file: error has file:line:col"
    else not_ok "check $file: error has file:line:col" "$err"; fi
  fi
done < <(grep '^| ' "$EX/INDEX.md" | tail -n +2)
run "$ZAGENT" check -f "$EX/examples__full-service.yaml"
check "full-service: cron without schedule reported at services.cleanup.schedule" \
  grep -q "services.cleanup.schedule: rtype: cron requires a schedule field" <<<"$err"
run "$ZAGENT" check -f "$EX/examples__containers__redis-cache__deployment.yaml"
check "redis-cache: multi-document rejected" grep -q "more than one document" <<<"$err"

# ---- spec on every example that validates; each config validated -------
mkdir -p "$WORK/secrets/zsecrets" "$WORK/rootfs-empty"
printf 'jwt-value-xyz' > "$WORK/secrets/zsecrets/zlayer-jwt-secret"
VOLS=""
for v in llm-weights mlx-cache model-weights zsecrets-data; do mkdir -p "$WORK/vol/$v"; VOLS="$VOLS --volume $v=$WORK/vol/$v"; done
for f in "$EX"/*.y*ml; do
  b=$(basename "$f")
  "$ZAGENT" check -f "$f" >/dev/null 2>&1 || continue
  services=$(sed -n '/^services:/,/^[a-z]/p' "$f" | grep -E '^  [A-Za-z0-9_-]+:' | sed 's/://; s/^ *//')
  for s in $services; do
    run "$ZAGENT" spec -f "$f" -s "$s" --secrets-dir "$WORK/secrets" --scope zsecrets $VOLS
    if [ "$rc" != 0 ]; then not_ok "spec $b -s $s" "$err"; continue; fi
    printf '%s' "$out" > "$WORK/cfg.json"
    if validate "$WORK/cfg.json" >"$WORK/.v" 2>&1; then ok "spec $b -s $s: config.json valid"
    else not_ok "spec $b -s $s: config.json valid" "$(cat "$WORK/.v")"; fi
  done
done

# ---- secrets --------------------------------------------------------------
run "$ZAGENT" spec -f "$EX/zsecrets.zlayer.yml"
expect_rc "zsecrets without a secrets store exits 2" 2
check "error names the variable and the reference" grep -q 'ZLAYER_JWT_SECRET\|\$S:zlayer-jwt-secret' <<<"$err"
run "$ZAGENT" spec -f "$EX/zsecrets.zlayer.yml" --secrets-dir "$WORK/secrets" --scope zsecrets $VOLS
check "secret resolved into env" grep -q '"JWT_SECRET=jwt-value-xyz"\|=jwt-value-xyz"' <<<"$out"
check "secret value never on stderr" bash -c "! grep -q jwt-value-xyz <<<\"\$1\"" _ "$err"
rm "$WORK/secrets/zsecrets/zlayer-jwt-secret"
run "$ZAGENT" spec -f "$EX/zsecrets.zlayer.yml" --secrets-dir "$WORK/secrets" --scope zsecrets $VOLS
expect_rc "missing secret exits 2" 2

# ---- errors: positions and exit codes ------------------------------------
cat > "$WORK/bad.yaml" <<'Y'
version: v1
deployment: demo
services:
  web:
    image:
      name: nginx
    resources:
      cpu: "2"
Y
run "$ZAGENT" spec -f "$WORK/bad.yaml"
expect_rc "quoted number exits 2" 2
check "quoted cpu error text and position" grep -qx "$WORK/bad.yaml:8:12: services.web.resources.cpu: expected a number, got string \"2\"" <<<"$err"
printf 'version: v1\ndeployment: demo\nservices: [1, 2\n' > "$WORK/syntax.yaml"
run "$ZAGENT" check -f "$WORK/syntax.yaml"
expect_rc "YAML syntax error exits 2" 2
check "syntax error has line:col" grep -qE "^$WORK/syntax.yaml:[0-9]+:[0-9]+: " <<<"$err"
cat > "$WORK/multi.yaml" <<'Y'
version: v1
deployment: demo
services:
  a:
    image: {name: nginx}
    capabilities: [net_admn]
  b:
    image: {name: nginx}
    storage:
      - {type: bind, source: /srv, target: etc/x}
Y
run "$ZAGENT" check -f "$WORK/multi.yaml"
expect_rc "check reports problems with exit 2" 2
check "check reports each problem on its own line" test "$(grep -c "^$WORK/multi.yaml:[0-9]*:[0-9]*: " <<<"$err")" -ge 2
check "unknown capability named" grep -q 'unknown capability `net_admn`' <<<"$err"
run "$ZAGENT" spec -f "$WORK/multi.yaml"
expect_rc "spec on several services without -s exits 2" 2
printf 'version: v1\ndeployment: demo\nservices:\n  web:\n    image: {name: nginx}\n' > "$WORK/ok.yaml"
run "$ZAGENT" spec -f - < "$WORK/ok.yaml"; expect_rc "spec reads stdin with -f -" 0
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b /proc/zagent-cannot-write
expect_rc "unwritable bundle dir is a system failure (exit 1)" 1

# ---- bundles on disk --------------------------------------------------------
B=$WORK/bundle
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$B" -- /bin/echo hi
expect_rc "bundle exits 0" 0
check "bundle prints its path" test "$out" = "$B"
check "bundle dir mode 0700" test "$(stat -c %a "$B")" = 700
check "config.json mode 0600" test "$(stat -c %a "$B/config.json")" = 600
check "rootfs dir created" test -d "$B/rootfs"
check "bundle validates" validate "$B"
check "-- ARG replaces args" grep -q '"/bin/echo"' "$B/config.json"
cp "$B/config.json" "$WORK/first.json"
"$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$B" -- /bin/echo hi >/dev/null
check "same input, byte-identical config.json" cmp -s "$B/config.json" "$WORK/first.json"
check "no temp files left in the bundle" test "$(ls -A "$B" | tr '\n' ' ')" = "config.json rootfs "
run "$ZAGENT" bundle -f "$WORK/bad.yaml" -b "$B"
expect_rc "failed rebuild exits 2" 2
check "failed rebuild leaves the bundle untouched" cmp -s "$B/config.json" "$WORK/first.json"
ln -s "$B" "$WORK/link"
run "$ZAGENT" bundle -f "$WORK/ok.yaml" -b "$WORK/link"
expect_rc "symlinked bundle dir refused (exit 2)" 2
run "$ZAGENT" bundle -f "$WORK/bad.yaml" -b "$WORK/newdir"
check "failed build creates no bundle dir" test ! -e "$WORK/newdir"
ZLAYER_DATA_DIR=$WORK/data run "$ZAGENT" bundle -f "$WORK/ok.yaml" -r 3
check "default bundle dir is <data>/bundles/<service>-rep-<N>" test "$out" = "$WORK/data/bundles/web-rep-3" -a -f "$WORK/data/bundles/web-rep-3/config.json"
mkdir -p "$WORK/notabundle"; touch "$WORK/notabundle/precious"
run "$ZAGENT" cleanup -b "$WORK/notabundle"
expect_rc "cleanup refuses a directory without config.json" 2
check "cleanup left the directory alone" test -f "$WORK/notabundle/precious"
run "$ZAGENT" cleanup -b "$WORK/link"; expect_rc "cleanup refuses a symlink" 2
run "$ZAGENT" cleanup -b "$B"; expect_rc "cleanup exits 0" 0
check "cleanup removed the bundle" test ! -e "$B"

# ---- running bundles with runc ----------------------------------------------
"$root/scripts/mkrootfs.sh" "$WORK/rootfs"
if [ "$(id -u)" != 0 ] || ! command -v runc >/dev/null; then
  skip "runc run" "needs root and runc"
else
  runrunc () { # runrunc BUNDLE: sets out/rc
    local id="zt-$$-$RANDOM"
    out=$(cd "$1" && timeout 30 runc run "$id" 2>&1); rc=$?
    runc delete -f "$id" >/dev/null 2>&1
  }
  run "$ZAGENT" bundle -f "$root/examples/hello.yaml" -b "$WORK/hello" --rootfs "$WORK/rootfs"
  expect_rc "hello bundle with --rootfs" 0
  check "root.path is the rootfs's real path" grep -q "\"path\": \"$(realpath "$WORK/rootfs")\"" "$WORK/hello/config.json"
  check "hello bundle validates (no symlinked rootfs)" validate "$WORK/hello"
  runrunc "$WORK/hello"
  if [ "$rc" = 0 ]; then ok "runc runs the hello bundle"; else not_ok "runc runs the hello bundle" "$out"; fi
  check "container hostname is the container id" grep -qx "hostname: hello-rep-1" <<<"$out"
  check "container sees the spec env" grep -qx "GREETING=hello from zagent" <<<"$out"
  check "container sees \$E: resolved from the host" grep -qx "SHELL_USER=$USER" <<<"$out"
  check "container has exactly CAP_KILL+CAP_NET_BIND_SERVICE" grep -qP "^CapEff:\t0000000000000420$" <<<"$out"
  check "cgroup fs mounted read-only" grep -q "cgroup mount: cgroup2 ro," <<<"$out"

  # A container must not be able to move itself out of its cgroup.
  cat > "$WORK/escape.yaml" <<'Y'
version: v1
deployment: escape
services:
  esc:
    image: {name: busybox}
    command:
      entrypoint: ["/bin/sh", "-c"]
      args: ["echo $$ > /sys/fs/cgroup/cgroup.procs && echo ESCAPED || echo BLOCKED; cat /proc/self/cgroup | grep '^0::'"]
Y
  "$ZAGENT" bundle -f "$WORK/escape.yaml" -b "$WORK/esc" --rootfs "$WORK/rootfs" >/dev/null
  runrunc "$WORK/esc"
  check "container cannot write the root cgroup.procs" grep -qx BLOCKED <<<"$out"
  check "container has its own cgroup namespace" grep -qx "0::/" <<<"$out"

  # Non-numeric image users come from the rootfs's /etc/passwd.
  printf '{"config":{"User":"app:www","Env":["FROM_IMAGE=1"],"Cmd":["/bin/sh","-c","id; echo FROM_IMAGE=$FROM_IMAGE"]}}' > "$WORK/img.json"
  printf 'version: v1\ndeployment: users\nservices:\n  u:\n    image: {name: busybox}\n' > "$WORK/user.yaml"
  run "$ZAGENT" bundle -f "$WORK/user.yaml" -b "$WORK/user" --rootfs "$WORK/rootfs" --image-config "$WORK/img.json"
  expect_rc "bundle with image User app:www" 0
  runrunc "$WORK/user"
  check "image user resolved to uid 1000 gid 33" grep -q "uid=1000(app) gid=33(www)" <<<"$out"
  check "image env and cmd used" grep -qx "FROM_IMAGE=1" <<<"$out"
  printf '{"User":"ghost"}' > "$WORK/img2.json"
  run "$ZAGENT" bundle -f "$WORK/user.yaml" -b "$WORK/user2" --rootfs "$WORK/rootfs" --image-config "$WORK/img2.json"
  expect_rc "unknown image user is an input error" 2
  check "unknown user error names it" grep -q 'ghost' <<<"$err"

  # crun refuses hybrid cgroups unless /sys/fs/cgroup/unified is hidden.
  if command -v crun >/dev/null && command -v unshare >/dev/null; then
    out=$(cd "$WORK/hello" && timeout 30 unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; crun run zt-crun-$$' 2>&1); rc=$?
    crun delete -f "zt-crun-$$" >/dev/null 2>&1
    if [ "$rc" = 0 ] && grep -qx "hostname: hello-rep-1" <<<"$out"; then ok "crun runs the hello bundle"
    else skip "crun runs the hello bundle" "crun refused on this host: $(echo "$out" | head -1)"; fi
  else
    skip "crun runs the hello bundle" "crun not installed"
  fi
fi

finish
