#!/usr/bin/env python3
"""Differential test: zagent's CDI implementation against the reference Go
library (container-device-interface 0.5.2, shared/tools/cdi-oracle).

Usage: differential.py ZAGENT ORACLE      (TAP on stdout)

For every spec file of shared/testdata/cdi-corpus and of the oracle's
samples (gpu, invalid, conflict):
  * `zagent cdi validate` and `cdi-oracle --validate` must agree on
    accept/reject, or the difference must match an ALLOWED entry below;
    every zagent error line must carry FILE:LINE:COL;
  * a file both accept is put alone in a spec dir: both must list the same
    devices, and injecting each device and all devices together into the
    oracle's two base configs must give the same CDI-touched parts of the
    config (env, additionalGids, linux.devices, linux.resources.devices,
    mounts as a multiset, hooks) and leave everything else alone.  Mount
    order: the oracle (0.5.2) sorts by depth then destination, zagent
    (v1.0.0+) must be a *stable* sort by depth -- checked separately.
    Both failing (host device nodes missing here) counts as agreement.
The conflict samples (two spec dirs) are listed and injected too.

If the oracle binary is missing, every case is reported as skipped, with
the reason from ORACLE.log (written by scripts/build-oracle.sh).
"""

import concurrent.futures
import hashlib
import itertools
import json
import os
import posixpath
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
CORPUS = os.path.join(SHARED, "testdata", "cdi-corpus")
SAMPLES = os.path.join(SHARED, "tools", "cdi-oracle", "samples")
BASES = ["base-config.json", "base-config-uid1000.json"]

# ---- the allow-list: verdict differences that are deliberate --------------
# Each entry: (key, reason, predicate(oracle_ok, oracle_msg, zagent_ok, zagent_err)).
# We follow library v1.1.0; the oracle is 0.5.2 (cdi-reference.md §7).
ALLOWED = [
    ("cdiVersion 0.6.0-1.1.0",
     "0.5.2 knows cdiVersion up to 0.5.0 only; v1.1.0 accepts 0.6.0 ... 1.1.0",
     lambda ook, omsg, zok, zerr: not ook and zok and
     re.search(r'invalid version "v?(0\.[678]\.0|1\.[01]\.0)"', omsg)),
    ("fields new since 0.6.0",
     "0.5.2 rejects annotations/intelRdt/additionalGids/netDevices as unknown "
     "fields; v1.1.0 knows them (with the minimum-version rule)",
     lambda ook, omsg, zok, zerr: not ook and zok and
     re.search(r'unknown field "(annotations|intelRdt|additionalGids|netDevices)"', omsg)),
    ("dot in class",
     "0.5.2 forbids '.' in the class; v0.6.0+ allows it (cdiVersion >= 0.6.0)",
     lambda ook, omsg, zok, zerr: not ook and zok and
     re.search(r"invalid character '\.' in device class", omsg)),
    ("one-char vendor/class",
     "0.5.2 (like every release up to v1.1.0) panics on a one-character vendor "
     "or class; we accept a single letter (HEAD semantics) and never crash",
     lambda ook, omsg, zok, zerr: not ook and zok and "library panic" in omsg),
    ("relative hook path",
     "no library version checks that a hook path is absolute; the OCI runtime "
     "spec requires it, so zagent rejects a relative one (docs/cdi.md)",
     lambda ook, omsg, zok, zerr: ook and not zok and
     re.search(r'invalid hook "[^"]*": path "[^/"][^"]*" is not absolute', zerr)),
    ("no devices",
     "0.5.2 accepts `devices: []`; v1.0.0+ rejects it (\"invalid spec, no devices\")",
     lambda ook, omsg, zok, zerr: ook and not zok and
     "invalid spec, no devices" in zerr),
]


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, name):
        self.n += 1
        print(f"ok {self.n} - {name}", flush=True)

    def not_ok(self, name, *diag):
        self.n += 1
        self.failed += 1
        print(f"not ok {self.n} - {name}", flush=True)
        for d in diag:
            for line in str(d).splitlines()[:40]:
                print(f"#   {line}", flush=True)

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def check(self, cond, name, *diag):
        (self.ok if cond else lambda n: self.not_ok(n, *diag))(name)
        return cond


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60, **kw)
    return p.returncode, p.stdout, p.stderr


def rel(path):
    for base, label in ((CORPUS, "corpus"), (SAMPLES, "samples")):
        if path.startswith(base + "/"):
            return label + "/" + path[len(base) + 1:]
    return path


def corpus_files():
    out = []
    for d, _, files in os.walk(CORPUS):
        for f in files:
            if f != "README.md":
                out.append(os.path.join(d, f))
    return sorted(out)


def sample_files():
    out = []
    for sub in ("gpu", "invalid", "conflict"):
        for d, _, files in os.walk(os.path.join(SAMPLES, sub)):
            out += [os.path.join(d, f) for f in files]
    return sorted(out)


# ---- comparison helpers --------------------------------------------------

def go_clean(p):
    """filepath.Clean as Go does it (for the mount depth)."""
    if p == "":
        return "."
    c = posixpath.normpath(p)
    if c.startswith("//"):
        c = "/" + c.lstrip("/")
    return c


def depth(m):
    return go_clean(m.get("destination", "")).count("/")


def canon(v):
    return json.dumps(v, sort_keys=True)


def touched(cfg):
    """The CDI-touched parts of a (normalised) OCI config, and the rest."""
    cfg = json.loads(json.dumps(cfg))
    proc = cfg.get("process") or {}
    user = proc.get("user") or {}
    lx = cfg.get("linux") or {}
    res = lx.get("resources") or {}
    parts = {
        "process.env": proc.pop("env", None),
        "process.user.additionalGids": user.pop("additionalGids", None),
        "linux.devices": lx.pop("devices", None),
        "linux.resources.devices": res.pop("devices", None),
        "linux.intelRdt": lx.pop("intelRdt", None),
        "linux.netDevices": lx.pop("netDevices", None),
        "mounts": cfg.pop("mounts", None),
        "hooks": cfg.pop("hooks", None),
    }
    return parts, cfg


def compare_configs(oracle_cfg, zagent_cfg, expected_mount_order):
    """List of difference descriptions (empty = identical)."""
    diffs = []
    op, orest = touched(oracle_cfg)
    zp, zrest = touched(zagent_cfg)
    # v1.1.0 fills fileMode from the host; 0.5.2 never does.
    od, zd = op["linux.devices"] or [], zp["linux.devices"] or []
    if len(od) == len(zd):
        for o, z in zip(od, zd):
            if "fileMode" in z and "fileMode" not in o:
                del z["fileMode"]
        zp["linux.devices"] = zd or zp["linux.devices"]
    for k in op:
        if k == "mounts":
            continue
        if canon(op[k]) != canon(zp[k]):
            diffs.append(f"{k}: oracle {canon(op[k])}\n  zagent {canon(zp[k])}")
    om, zm = op["mounts"] or [], zp["mounts"] or []
    if sorted(map(canon, om)) != sorted(map(canon, zm)):
        diffs.append(f"mounts (as a multiset): oracle {canon(om)}\n  zagent {canon(zm)}")
    elif expected_mount_order is not None and canon(zm) != canon(expected_mount_order):
        diffs.append("mount order is not a stable sort by depth:\n  zagent "
                     + " ".join(m.get("destination", "") for m in zm) + "\n  want   "
                     + " ".join(m.get("destination", "") for m in expected_mount_order))
    if canon(orest) != canon(zrest):
        diffs.append(f"untouched parts differ: oracle {canon(orest)}\n  zagent {canon(zrest)}")
    return diffs


def expected_mounts(base_mounts, cdi_mounts):
    """Replace-by-destination then a stable sort by depth (v1.0.0+)."""
    ms = [json.loads(json.dumps(m)) for m in base_mounts]
    for c in cdi_mounts:
        for i, m in enumerate(ms):
            if m.get("destination") == c["containerPath"]:
                del ms[i]
                break
        o = {"destination": c["containerPath"]}
        if c.get("type"):
            o["type"] = c["type"]
        o["source"] = c["hostPath"]
        if c.get("options"):
            o["options"] = c["options"]
        ms.append(o)
    return sorted(ms, key=depth)  # Python's sort is stable


# ---- the two implementations --------------------------------------------

class Impl:
    def __init__(self, zagent, oracle, work):
        self.zagent = zagent
        self.oracle = oracle
        self.work = work
        self.seq = itertools.count(1)

    def tmpdir(self, prefix):
        d = os.path.join(self.work, f"{prefix}{next(self.seq)}")
        os.makedirs(d)
        return d

    def o_validate(self, f):
        rc, out, err = run([self.oracle, "--validate", f])
        return rc == 0, (out + err).strip()

    def z_validate(self, f):
        rc, out, err = run([self.zagent, "cdi", "validate", f])
        return rc, out, err

    def o_list(self, dirs):
        rc, out, err = run([self.oracle, "--spec-dirs", ",".join(dirs), "--list"])
        return rc, out.split(), err

    def z_list(self, dirs):
        argv = [self.zagent, "cdi", "list"]
        for d in dirs:
            argv += ["--cdi-dir", d]
        rc, out, err = run(argv)
        return rc, out.split(), err

    def normalize(self, path):
        rc, out, err = run([self.oracle, "--normalize", path])
        if rc != 0:
            raise RuntimeError(f"oracle --normalize {path}: {err.strip()}")
        return json.loads(out)

    def o_inject(self, dirs, base, names, host=None):
        if host:  # the oracle runs chrooted into the fake host
            argv = ["chroot", host.root, "/cdi-oracle", "--spec-dirs",
                    ",".join(host.inside(d) for d in dirs), host.inside(base)] + names
        else:
            argv = [self.oracle, "--spec-dirs", ",".join(dirs), base] + names
        rc, out, err = run(argv)
        return (json.loads(out) if rc == 0 else None), err.strip()

    def z_inject(self, dirs, base, names, bundle, host=None):
        os.makedirs(bundle, exist_ok=True)
        shutil.copy(base, os.path.join(bundle, "config.json"))
        argv = [self.zagent, "cdi", "inject", "-b", bundle]
        for d in dirs:
            argv += ["--cdi-dir", d]
        env = dict(os.environ, ZAGENT_HOST_ROOT=host.root) if host else None
        rc, out, err = run(argv + names, env=env)
        if rc != 0:
            return None, err.strip()
        return self.normalize(os.path.join(bundle, "config.json")), err.strip()

    def z_resolve(self, dirs, names):
        argv = [self.zagent, "cdi", "resolve"]
        for d in dirs:
            argv += ["--cdi-dir", d]
        rc, out, err = run(argv + names)
        return json.loads(out) if rc == 0 else None


class FakeHost:
    """A directory standing for the host's root, with device nodes made
    with mknod for the host paths the specs name (needs root): the oracle
    runs chrooted into it (it is linked statically), zagent reads it
    through ZAGENT_HOST_ROOT.  Spec dirs and base configs are copied in."""

    def __init__(self, work, oracle):
        self.root = os.path.join(work, "hostroot")
        self.made = []
        self.lock = threading.Lock()
        self.reason = None
        if os.geteuid() != 0:
            self.reason = "needs root (mknod, chroot)"
        elif not shutil.which("chroot"):
            self.reason = "no chroot command"
        if self.reason:
            return
        try:
            os.makedirs(os.path.join(self.root, "specs"))
            shutil.copy(oracle, os.path.join(self.root, "cdi-oracle"))
            for b in BASES:
                shutil.copy(os.path.join(SAMPLES, b), os.path.join(self.root, b))
            self.mknod("/dev/null", 1, 3)
            self.mknod("/dev/zero", 1, 5)
            rc, out, err = run(["chroot", self.root, "/cdi-oracle", "--versions"])
            if rc != 0:
                self.reason = f"oracle does not run chrooted: {err.strip()}"
        except OSError as e:
            self.reason = f"cannot build a fake host root: {e}"

    def inside(self, path):
        if path.startswith(self.root + "/"):
            return path[len(self.root):]
        return "/" + os.path.basename(path)  # the base configs

    def add_specs(self, dirs):
        out = []
        for d in dirs:
            with self.lock:
                n = os.path.join(self.root, "specs", str(len(os.listdir(os.path.join(self.root, "specs")))))
                shutil.copytree(d, n)
            out.append(n)
        return out

    def mknod(self, path, major=None, minor=None):
        """A char device at PATH; numbers from a hash of the path unless
        given, so that some have major/minor > 255."""
        h = int(hashlib.sha1(path.encode()).hexdigest()[:12], 16)
        if major is None:
            major, minor = 1 + h % 511, (h >> 9) % 70000
        p = self.root + path
        with self.lock:
            if os.path.lexists(p):
                return False
            os.makedirs(os.path.dirname(p), exist_ok=True)
            os.mknod(p, stat.S_IFCHR | 0o660, os.makedev(major, minor))
            self.made.append(f"{path} c {major}:{minor}")
        return True

    def discover(self, impl, dirs, base_name, names):
        """Run the oracle chrooted, creating each missing host node it
        names, until it succeeds or fails for another reason."""
        base = os.path.join(SAMPLES, base_name)
        for _ in range(64):
            cfg, err = impl.o_inject(dirs, base, names, self)
            if cfg is not None:
                return True
            m = re.search(r'failed to stat CDI host device "(/[^"]+)": no such file', err)
            if not m or not self.mknod(m.group(1)) and not os.path.lexists(self.root + m.group(1)):
                return False
        return False


def inject_case(impl, dirs, base_name, names, bundle, host=None):
    """One injection compared; returns (agree, description, diag)."""
    base = os.path.join(SAMPLES, base_name)
    ocfg, oerr = impl.o_inject(dirs, base, names, host)
    zcfg, zerr = impl.z_inject(dirs, base, names, bundle, host)
    if ocfg is None and zcfg is None:
        return True, "both fail", [f"oracle: {oerr}", f"zagent: {zerr}"]
    if ocfg is None or zcfg is None:
        return False, "one fails", [f"oracle: {oerr or 'ok'}", f"zagent: {zerr or 'ok'}"]
    plan = impl.z_resolve(dirs, names)
    with open(base) as fh:
        base_cfg = json.load(fh)
    want = None
    if plan is not None and plan.get("mounts"):
        want = expected_mounts(base_cfg.get("mounts") or [], plan["mounts"])
    elif plan is not None:
        want = base_cfg.get("mounts")
    diffs = compare_configs(ocfg, zcfg, want)
    return not diffs, "identical" if not diffs else "differ", diffs


def main():
    if len(sys.argv) != 3:
        print("usage: differential.py ZAGENT ORACLE", file=sys.stderr)
        return 2
    zagent, oracle = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tap = Tap()
    corpus = corpus_files()
    samples = sample_files()
    files = corpus + samples

    if not (os.path.isfile(oracle) and os.access(oracle, os.X_OK)):
        why = "reference oracle not built"
        try:
            with open(oracle + ".log") as fh:
                lines = [l.strip() for l in fh if l.strip()]
            if lines:
                why += ": " + lines[-1]
        except OSError:
            why += f" ({oracle} missing; see scripts/build-oracle.sh)"
        why = why.replace("#", "")
        for f in files:
            tap.skip(f"validate {rel(f)}", why)
        tap.skip("conflict samples: list and inject", why)
        print(f"1..{tap.n}")
        return 0

    work = tempfile.mkdtemp(prefix="zagent-cdi-diff.")
    try:
        return differential(tap, Impl(zagent, oracle, work), corpus, samples)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def differential(tap, impl, corpus, samples):
    files = corpus + samples
    allowed_count = {key: [] for key, _, _ in ALLOWED}
    load_same = {}    # file -> bool
    inject_same = {}  # file -> bool (only for files both accept)

    # Validate everything in parallel; report in order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ov = list(pool.map(impl.o_validate, files))
        zv = list(pool.map(impl.z_validate, files))

    both_accept = []
    for f, (ook, omsg), (zrc, zout, zerr) in zip(files, ov, zv):
        name = f"validate {rel(f)}"
        zok = zrc == 0
        if zrc not in (0, 2):
            tap.not_ok(name, f"zagent exit {zrc} (want 0 or 2)", zerr)
            load_same[f] = False
            continue
        # every error line carries FILE:LINE:COL
        bad = [l for l in zerr.splitlines()
               if l and not re.match(re.escape(f) + r":\d+:\d+: ", l)]
        if not zok and (bad or not zerr.strip()):
            tap.not_ok(name, "zagent error lines without FILE:LINE:COL:", *(bad or ["(no output)"]))
            load_same[f] = False
            continue
        if ook == zok:
            tap.ok(f"{name}: both {'accept' if ook else 'reject'}")
            load_same[f] = True
            if ook:
                both_accept.append(f)
            continue
        load_same[f] = False
        for key, reason, pred in ALLOWED:
            if pred(ook, omsg, zok, zerr):
                allowed_count[key].append(rel(f))
                tap.ok(f"{name}: allowed difference ({key}): "
                       f"oracle {'accepts' if ook else 'rejects'}, zagent {'accepts' if zok else 'rejects'}")
                break
        else:
            tap.not_ok(name + ": verdicts differ", f"oracle: {omsg}", f"zagent rc={zrc}: {zerr.strip() or zout.strip()}")

    # Files both accept: list and inject, alone in a spec dir.
    jobs = []
    for f in both_accept:
        d = impl.tmpdir("spec")
        shutil.copy(f, os.path.join(d, os.path.basename(f)))
        orc, olist, oerr = impl.o_list([d])
        zrc, zlist, zerr = impl.z_list([d])
        same = orc == 0 and zrc == 0 and olist == zlist
        tap.check(same, f"list {rel(f)}: {len(zlist)} device(s)",
                  f"oracle rc={orc}: {olist} {oerr}", f"zagent rc={zrc}: {zlist} {zerr}")
        load_same[f] = load_same[f] and same
        inject_same[f] = same
        if not same or not olist:
            continue
        sets = [[n] for n in olist] + ([olist] if len(olist) > 1 else [])
        for base in BASES:
            for names in sets:
                jobs.append((f, [d], base, names))

    def do(job):
        f, dirs, base, names = job
        try:
            return inject_case(impl, dirs, base, names, impl.tmpdir("bundle"))
        except Exception as e:  # a crash of the harness is a failure, not an abort
            return False, "error", [repr(e)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(do, jobs))
    both_fail = 0
    for (f, dirs, base, names), (agree, what, diag) in zip(jobs, results):
        label = f"inject {rel(f)} {' '.join(n.split('=', 1)[1] for n in names)} into {base}: {what}"
        if what == "both fail":
            both_fail += 1
        if agree:
            tap.ok(label)
            if what == "both fail":
                for d in diag:
                    print(f"#   {d.splitlines()[0] if d else d}")
        else:
            tap.not_ok(label, *diag)
            inject_same[f] = False

    # Injections that failed on both sides because host device nodes are
    # missing here: again on a fake host that has them.
    host = FakeHost(impl.work, impl.oracle)
    redo = [job for job, r in zip(jobs, results) if r[1] == "both fail"]
    fake_jobs, fake_same = [], 0
    if host.reason:
        for f, dirs, base, names in redo:
            tap.skip(f"inject {rel(f)} {' '.join(n.split('=', 1)[1] for n in names)} into {base} "
                     f"on a fake host", host.reason)
    else:
        hdirs = {}
        for f, dirs, base, names in redo:
            key = tuple(dirs)
            if key not in hdirs:
                hdirs[key] = host.add_specs(dirs)
            fake_jobs.append((f, hdirs[key], base, names))
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda j: host.discover(impl, j[1], j[2], j[3]), fake_jobs))

        def do_fake(job):
            f, dirs, base, names = job
            try:
                return inject_case(impl, dirs, base, names, impl.tmpdir("bundle"), host)
            except Exception as e:
                return False, "error", [repr(e)]

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            fres = list(pool.map(do_fake, fake_jobs))
        for (f, dirs, base, names), (agree, what, diag) in zip(fake_jobs, fres):
            label = (f"inject {rel(f)} {' '.join(n.split('=', 1)[1] for n in names)} into {base} "
                     f"on a fake host: {what}")
            if agree:
                tap.ok(label)
                fake_same += what == "identical"
            else:
                tap.not_ok(label, *diag)
                inject_same[f] = False
        print(f"# fake host nodes: {'; '.join(sorted(host.made))}")

    # The conflict samples: two directories, lower priority first.
    cdirs = [os.path.join(SAMPLES, "conflict", "etc-cdi"), os.path.join(SAMPLES, "conflict", "run-cdi")]
    conflict_ok = True
    for dirs in (cdirs, cdirs[:1], cdirs[1:], cdirs[::-1]):
        orc, olist, oerr = impl.o_list(dirs)
        zrc, zlist, zerr = impl.z_list(dirs)
        label = "list conflict " + ",".join(os.path.basename(d) for d in dirs)
        # zagent cdi list exits 2 when a file was refused (issue 10), the
        # oracle 0 with its registry errors on stderr: the same files failed.
        want_zrc = 2 if "registry error" in oerr else 0
        conflict_ok &= tap.check(orc == 0 and zrc == want_zrc and olist == zlist, f"{label}: {' '.join(zlist)}",
                                 f"oracle: {olist} {oerr}", f"zagent: {zlist} {zerr}")
    _, olist, _ = impl.o_list(cdirs)
    names_sets = [[n] for n in olist] + [olist, list(reversed(olist))] + [
        ["example.com/nic=eth1"], ["example.com/nic=shared"], ["example.com/nic=eth0", "example.com/nic=nope"]]
    for base in BASES:
        for names in names_sets:
            agree, what, diag = inject_case(impl, cdirs, base, names, impl.tmpdir("bundle"))
            conflict_ok &= tap.check(agree, f"inject conflict {' '.join(names)} into {base}: {what}", *diag)

    # Summary.
    nc = len(corpus)
    c_load = sum(1 for f in corpus if load_same.get(f))
    c_acc = [f for f in corpus if f in inject_same]
    c_inj = sum(1 for f in c_acc if inject_same[f])
    s_load = sum(1 for f in samples if load_same.get(f))
    s_inj = sum(1 for f in samples if inject_same.get(f))
    print(f"# summary: corpus: {c_load}/{nc} files load identically (same verdict, same devices); "
          f"{c_inj}/{len(c_acc)} files both accept inject identically")
    print(f"# summary: oracle samples: {s_load}/{len(samples)} load identically; "
          f"{s_inj}/{sum(1 for f in samples if f in inject_same)} inject identically; "
          f"conflict dirs {'identical' if conflict_ok else 'DIFFER'}")
    print(f"# summary: {len(jobs)} injections compared, {both_fail} of them fail in both "
          f"(host device nodes missing here); "
          + (f"on a fake host with those nodes: {fake_same}/{len(fake_jobs)} identical"
             if not host.reason else f"fake host skipped: {host.reason}"))
    for key, reason, _ in ALLOWED:
        files = allowed_count[key]
        nc_ = sum(1 for x in files if x.startswith("corpus/"))
        print(f"# allowed: {key}: {len(files)} file(s) ({nc_} corpus) -- {reason}")
        for x in files:
            print(f"#     {x}")
    print(f"1..{tap.n}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
