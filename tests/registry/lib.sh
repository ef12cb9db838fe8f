# Registries for tests (bash; source after setting WORK to a temp dir the
# caller removes).  Every server listens on 127.0.0.1 at a free port and
# is stopped by stop_registries (call it from the caller's EXIT trap).
#
#   start_registry MODE [NAME]   MODE: http | https | auth (https + htpasswd)
#       | mtls (https that requires a client certificate)
#       Debian's docker-registry (distribution 2.8), storage under
#       $WORK/registry-NAME (NAME defaults to MODE).  Sets:
#         REG_ADDR      127.0.0.1:PORT
#         REG_CERT_DIR  (https, auth, mtls) dir holding ca.crt (mtls: also
#                       client.cert, client.key): --cert-dir for
#                       zagent/skopeo/regtool
#         REG_AUTHFILE  (auth) auth.json with REG_USER:REG_PASS
#         REG_USER, REG_PASS  (auth)
#         REG_SKOPEO    skopeo --dest-* options to push to it
#   push_image SRC DEST [SKOPEO-OPTIONS...]
#       skopeo copy SRC (e.g. oci:DIR:TAG) to docker://$REG_ADDR/DEST with
#       $REG_SKOPEO; quiet unless it fails.
#   start_hostile LAYOUT         tests/registry/hostile.py serving the OCI
#       layout LAYOUT (single manifest) with broken behaviours chosen by
#       repository name (see hostile.py).  Sets HOSTILE_ADDR and
#       HOSTILE_LOG (requests the "other host" of a redirect received).
#   stop_registries              kill every server started here.
#   make_rootfs DIR              busybox-static root filesystem.
REG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REG_PIDS=()

free_port () {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

make_rootfs () {
  "$REG_LIB_DIR/../../scripts/mkrootfs.sh" "$1"
}

# A CA and a server certificate for 127.0.0.1 under DIR (once per WORK).
make_certs () {
  local d=$1
  [ -f "$d/ca/ca.crt" ] && return 0
  mkdir -p "$d/ca" || return 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=zagent-test-ca -keyout "$d/ca.key" -out "$d/ca/ca.crt" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj /CN=127.0.0.1 -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/ext" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext" -out "$d/server.crt" 2>/dev/null &&
  mkdir -p "$d/mtls" && cp "$d/ca/ca.crt" "$d/mtls/" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj /CN=zagent-test-client -keyout "$d/mtls/client.key" -out "$d/client.csr" 2>/dev/null &&
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -out "$d/mtls/client.cert" 2>/dev/null
}

wait_http () { # wait_http URL [CURL-OPTIONS]: until it answers at all (30 s)
  local i
  for i in $(seq 300); do
    curl -sk -o /dev/null --max-time 1 "$@" && return 0
    sleep 0.1
  done
  echo "# $1 did not come up" >&2
  return 1
}

start_registry () {
  local mode=$1 name=${2:-$1} port dir scheme=https
  dir=$WORK/registry-$name
  port=$(free_port)
  mkdir -p "$dir/storage"
  REG_ADDR=127.0.0.1:$port
  REG_CERT_DIR= REG_AUTHFILE= REG_USER= REG_PASS=
  REG_SKOPEO=(--dest-tls-verify=false)
  {
    printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
    printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$dir/storage"
    printf 'http:\n  addr: %s\n' "$REG_ADDR"
  } > "$dir/config.yml"
  case $mode in
    http) scheme=http ;;
    https|auth|mtls)
      make_certs "$WORK/certs" || return 1
      REG_CERT_DIR=$WORK/certs/ca
      printf '  tls:\n    certificate: %s\n    key: %s\n' "$WORK/certs/server.crt" "$WORK/certs/server.key" >> "$dir/config.yml"
      if [ "$mode" = mtls ]; then
        REG_CERT_DIR=$WORK/certs/mtls
        printf '    clientcas:\n      - %s\n' "$WORK/certs/ca/ca.crt" >> "$dir/config.yml"
      fi
      REG_SKOPEO=(--dest-cert-dir "$REG_CERT_DIR") ;;
    *) echo "start_registry: unknown mode $mode" >&2; return 1 ;;
  esac
  if [ "$mode" = auth ]; then
    REG_USER=zagent REG_PASS=s3cret-$$-$RANDOM
    htpasswd -Bbn "$REG_USER" "$REG_PASS" > "$dir/htpasswd" 2>/dev/null || return 1
    printf 'auth:\n  htpasswd:\n    realm: zagent-test\n    path: %s\n' "$dir/htpasswd" >> "$dir/config.yml"
    REG_AUTHFILE=$dir/auth.json
    printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG_ADDR" \
      "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" > "$REG_AUTHFILE"
    REG_SKOPEO+=(--dest-creds "$REG_USER:$REG_PASS")
  fi
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  REG_PIDS+=($!)
  if [ "$mode" = mtls ]; then
    wait_http "$scheme://$REG_ADDR/v2/" --cert "$REG_CERT_DIR/client.cert" --key "$REG_CERT_DIR/client.key"
  else
    wait_http "$scheme://$REG_ADDR/v2/"
  fi
}

push_image () {
  local src=$1 dest=$2; shift 2
  skopeo copy -q "${REG_SKOPEO[@]}" "$@" "$src" "docker://$REG_ADDR/$dest" > "$WORK/.push.log" 2>&1 ||
    { sed 's/^/# /' "$WORK/.push.log" >&2; return 1; }
}

start_hostile () {
  local ports=$WORK/hostile.ports
  rm -f "$ports"
  HOSTILE_LOG=$WORK/hostile-other.log
  : > "$HOSTILE_LOG"
  python3 "$REG_LIB_DIR/hostile.py" "$1" "$ports" "$HOSTILE_LOG" > "$WORK/hostile.log" 2>&1 &
  REG_PIDS+=($!)
  local i
  for i in $(seq 300); do [ -s "$ports" ] && break; sleep 0.1; done
  HOSTILE_ADDR=127.0.0.1:$(cut -d' ' -f1 "$ports")
  wait_http "http://$HOSTILE_ADDR/v2/"
}

stop_registries () {
  local p
  for p in "${REG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${REG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  REG_PIDS=()
}
