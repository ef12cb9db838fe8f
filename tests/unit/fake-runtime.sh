#!/bin/sh
# A fake OCI runtime for tests/unit/test_lifecycle.c.  It takes the command
# line zagent uses:
#
#   RUNTIME --root R --log L --log-format json VERB ARGS...
#   VERB: create --bundle B --pid-file P ID | start ID | state ID
#         | kill [--all] ID SIG | delete [--force] ID
#         | run [--detach] --bundle B --pid-file P ID (create + start;
#           without --detach: wait for the init, delete, exit with its status)
#
# and keeps its state as runc does, a directory per container: R/ID/ with
# `bundle`, `pid` (the init) and `started` (once started).  `create` forks
# the container's "init", a shell that waits for `started` and then execs
# `sleep 4321` (config.json's process is never run; an odd duration, as
# other suites `pkill -f "sleep 1000"` host-wide); `state` prints a
# runc-like document, "stopped" once the init is dead or a zombie.  Errors
# go to L as runc writes them: {"level":"error","msg":...}, exit status 1.
#
# Knobs (environment):
#   FAKE_RT_FAIL=VERB[,VERB]  VERB fails with "fake VERB failed: ..."
#                             (create: before anything is made)
#   FAKE_RT_FAIL=create-late  create makes R/ID and the init, then fails
#   FAKE_RT_HANG=VERB[,VERB]  VERB never answers (create: after R/ID and
#                             the init exist; run: the same, before the
#                             pid file); touches $FAKE_RT_MARK first
#   FAKE_RT_INIT_EXIT=N       the init exits with N once started
#   FAKE_RT_LOG=FILE          every call's VERB ARGS appended to FILE, and
#                             "init PID" for each init that create forks
set -u

root=
log=/dev/null
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --log-format) shift 2 ;;
    -*) printf '{"level":"error","msg":"unknown global option %s"}\n' "$1" >>"$log"; exit 1 ;;
    *) break ;;
  esac
done
verb=${1:-}
[ $# -gt 0 ] && shift
[ -n "${FAKE_RT_LOG:-}" ] && printf '%s %s\n' "$verb" "$*" >>"$FAKE_RT_LOG"

fail () {
  printf '{"level":"error","msg":"%s","time":"2024-01-01T00:00:00Z"}\n' "$*" >>"$log"
  exit 1
}

# Whether VERB is in the comma-separated list $1.
knob () {
  case ",$1," in *",$2,"*) return 0 ;; esac
  return 1
}

hang () {
  if knob "${FAKE_RT_HANG:-}" "$verb"; then
    [ -n "${FAKE_RT_MARK:-}" ] && : >"$FAKE_RT_MARK"
    exec sleep 4321
  fi
}

# PID is a live process (not a zombie).
alive () {
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  s=${s%% *}
  [ "$s" != Z ] && [ "$s" != X ]
}

[ -n "$root" ] || fail "no --root"
case $verb in create | start | state | kill | delete | run) ;; *) fail "unknown command $verb" ;; esac
knob "${FAKE_RT_FAIL:-}" "$verb" && fail "fake $verb failed: exec: /bin/app: no such file or directory"

case $verb in
  create | run)
    bundle= pidfile= detach=false
    while [ $# -gt 1 ]; do
      case $1 in
        --detach) detach=true; shift ;;
        --bundle) bundle=$2; shift 2 ;;
        --pid-file) pidfile=$2; shift 2 ;;
        *) fail "create: unknown option $1" ;;
      esac
    done
    id=${1:-}
    [ -n "$id" ] && [ -n "$bundle" ] && [ -n "$pidfile" ] || fail "create: usage"
    d=$root/$id
    [ -e "$d" ] && fail "container with id exists: $id"
    [ -f "$bundle/config.json" ] || fail "bundle $bundle: no config.json"
    mkdir -p "$d" || fail "mkdir $d"
    printf '%s\n' "$bundle" >"$d/bundle"
    [ "$verb" = run ] && : >"$d/started"
    # The init: waits for start (or for its state dir to vanish), then
    # runs until killed, or exits with FAKE_RT_INIT_EXIT.
    sh -c 'while [ ! -e "$1/started" ]; do [ -d "$1" ] || exit 0; sleep 0.02; done
           [ -n "$2" ] && exit "$2"; exec sleep 4321' init "$d" "${FAKE_RT_INIT_EXIT:-}" \
      </dev/null >/dev/null 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$d/pid"
    [ -n "${FAKE_RT_LOG:-}" ] && printf 'init %s\n' "$pid" >>"$FAKE_RT_LOG"
    # run hangs before the container runs (no pid file), create after
    [ "$verb" = run ] && hang
    printf '%s' "$pid" >"$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile" || fail "write $pidfile"
    knob "${FAKE_RT_FAIL:-}" create-late && fail "fake create failed late: hook exited 1"
    hang
    if [ "$verb" = run ] && ! $detach; then
      wait "$pid"; st=$?
      rm -rf "$d"
      exit $st
    fi
    exit 0
    ;;
esac

hang
case $verb in
  start | state) id=${1:-} ;;
  kill)
    [ "${1:-}" = --all ] && shift
    id=${1:-}
    sig=${2:-15}
    ;;
  delete)
    force=false
    [ "${1:-}" = --force ] && force=true && shift
    id=${1:-}
    ;;
esac
[ -n "$id" ] || fail "$verb: no container id"
d=$root/$id
[ -d "$d" ] || fail "container does not exist"
pid=$(cat "$d/pid")
if ! alive "$pid"; then
  status=stopped
elif [ -e "$d/started" ]; then
  status=running
else
  status=created
fi

case $verb in
  start)
    [ "$status" = created ] || fail "cannot start a container in the $status state"
    : >"$d/started"
    ;;
  state)
    printf '{"ociVersion":"1.0.2","id":"%s","pid":%s,"status":"%s","bundle":"%s","rootfs":"%s/rootfs","created":"2024-01-01T00:00:00Z","owner":""}\n' \
      "$id" "$pid" "$status" "$(cat "$d/bundle")" "$(cat "$d/bundle")"
    ;;
  kill)
    [ "$status" = stopped ] && fail "container not running"
    kill -"$sig" "$pid" 2>/dev/null || fail "kill $sig $pid failed"
    ;;
  delete)
    if [ "$status" != stopped ]; then
      $force || fail "cannot delete container $id that is not stopped: $status"
      kill -9 "$pid" 2>/dev/null
    fi
    rm -rf "$d" || fail "remove $d"
    ;;
esac
exit 0
