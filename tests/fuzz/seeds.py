#!/usr/bin/env python3
"""seeds.py [CORPUS_DIR]: (re)write the hand-written edge cases of the fuzz
seed corpora (files named edge-*) under tests/fuzz/corpus/<target>/.

The other seeds were copied once from the unit tests' inline documents
(unit-*), examples/, ../shared/testdata and ../shared/tools/cdi-oracle/samples;
fuzz-<sha1> files are inputs libFuzzer found that add coverage (kept with
-merge=1, the small ones); crash-* files are regression inputs for bugs
found by fuzzing.  Everything here is deterministic, so rerunning it
changes nothing."""
import gzip, io, os, subprocess, sys, tarfile

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "edge-" + name), "wb") as f:
        f.write(data)


HEAD = "version: v1\ndeployment: edge-case\nservices:\n  web:\n    image:\n      name: nginx:latest\n"


def laughs(levels, n, indent=""):
    out = [indent + "l0: &l0 [" + ", ".join(["lol"] * n) + "]"]
    for i in range(1, levels):
        out.append("%sl%d: &l%d [%s]" % (indent, i, i, ", ".join(["*l%d" % (i - 1)] * n)))
    return "\n".join(out) + "\n"


def nest_flow(depth):
    return "[" * depth + "]" * depth


def nest_block(depth):
    return "".join("%sk%d:\n" % ("  " * i, i) for i in range(depth)) + "  " * depth + "leaf: 1\n"


# ---- YAML shapes shared by spec and cdi ------------------------------
yaml_shapes = {
    "depth-63-flow.yaml": "a: " + nest_flow(63) + "\n",
    "depth-64-flow.yaml": nest_flow(64) + "\n",
    "depth-65-flow.yaml": nest_flow(65) + "\n",
    "depth-300-flow.yaml": nest_flow(300) + "\n",
    "depth-70-block.yaml": nest_block(70),
    "depth-flow-maps.yaml": "{a: " * 80 + "1" + "}" * 80 + "\n",
    "billion-laughs-10x10.yaml": laughs(10, 10),
    "aliases-merge.yaml": "base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  z: *b\n",
    "alias-unknown.yaml": "a: *nope\n",
    "alias-recursive.yaml": "a: &m {self: *m}\n",
    "alias-recursive-seq.yaml": "a: &s [1, *s]\n",
    "anchor-redefined.yaml": "a: &x 1\nb: &x 2\nc: *x\n",
    "nul-raw.yaml": b"a: b\x00c\n",
    "nul-escape.yaml": 'a: "b\\0c"\nb: "\\x00"\nc: "\\u0000"\n',
    "utf8-invalid-lead.yaml": b"a: \xff\n",
    "utf8-overlong.yaml": b"a: \xc0\x80\n",
    "utf8-surrogate.yaml": b"a: \xed\xa0\x80\n",
    "utf8-truncated-eof.yaml": b"a: \xe2\x82",
    "utf8-bad-in-key.yaml": b"\xfe: 1\n",
    "utf16-bom.yaml": b"\xff\xfea\x00:\x00 \x001\x00\n\x00",
    "utf8-bom.yaml": b"\xef\xbb\xbfa: 1\n",
    "escape-bad-q.yaml": 'a: "\\q"\n',
    "escape-short-x.yaml": 'a: "\\x4"\n',
    "escape-short-u.yaml": 'a: "\\u12"\n',
    "escape-big-U.yaml": 'a: "\\UFFFFFFFF"\n',
    "escape-lone-surrogate.yaml": 'a: "\\ud800"\n',
    "escape-trailing-backslash.yaml": 'a: "abc\\',
    "quote-unclosed.yaml": "a: 'open\nb: 2\n",
    "multi-doc.yaml": "a: 1\n---\nb: 2\n",
    "doc-end-only.yaml": "...\n",
    "empty.yaml": "",
    "comment-only.yaml": "# nothing\n",
    "null-doc.yaml": "~\n",
    "scalar-doc.yaml": "just a string\n",
    "seq-doc.yaml": "- 1\n- 2\n",
    "tags-custom.yaml": "a: !custom 1\nb: !!binary aGVsbG8=\nc: !!str 1\nd: !!map {x: 1}\ne: !<tag:yaml.org,2002:int> 3\n",
    "tag-directive.yaml": "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
    "yaml-directive.yaml": "%YAML 1.1\n---\na: yes\n",
    "yaml-directive-bad.yaml": "%YAML 9.9\n---\na: 1\n",
    "complex-key.yaml": "? [a, b]\n: c\n? {x: 1}\n: d\n",
    "dup-keys.yaml": "a: 1\na: 2\n",
    "tabs.yaml": "a:\n\tb: 1\n",
    "crlf.yaml": "a: 1\r\nb:\r\n  - x\r\n",
    "cr-only.yaml": "a: 1\rb: 2\r",
    "block-scalars.yaml": "a: |\n  line\n   more\nb: >-\n  folded\n  text\nc: |+\n\n",
    "block-scalar-bad-indent.yaml": "a: |0\n  x\n",
    "long-key.yaml": "k" * 5000 + ": v\n",
    "long-plain-scalar.yaml": "a: " + "x" * 70000 + "\n",
    "many-items.yaml": "a: [" + ", ".join(str(i) for i in range(5000)) + "]\n",
    "flow-unterminated.yaml": "a: [1, 2\n",
    "flow-junk.yaml": "{a: 1,, b: 2}\n",
}

numbers = """version: v1
deployment: edge-numbers
services:
  web:
    image:
      name: nginx:latest
    resources:
      cpu: 1e400
      memory: 99999999999999999999Ti
      pids_limit: 99999999999999999999
      cpu_shares: -9223372036854775809
      memory_swappiness: 0x7fffffffffffffff
      oom_score_adj: -0o777777777777777777777
      blkio_weight: 0b1111111111111111111111111111111111111111111111111111111111111111
    scale:
      mode: fixed
      replicas: 18446744073709551616
    endpoints:
      - name: http
        protocol: http
        port: 65536
        target_port: -1
    ulimits:
      nofile: {soft: 9223372036854775807, hard: -9223372036854775808}
    stop_grace_period: 18446744073709551615s
    health:
      interval: 999999999999999h
      timeout: .nan
      retries: .inf
      check: {type: tcp, port: -.inf}
"""

floats = HEAD + "    resources:\n      cpu: %s\n"
spec_edges = {
    "numbers-huge.yaml": numbers,
    "cpu-nan.yaml": floats % ".nan",
    "cpu-inf.yaml": floats % "-.Inf",
    "cpu-tiny.yaml": floats % "1e-320",
    "cpu-hex.yaml": floats % "0x10",
    "cpu-string.yaml": floats % '"2"',
    "env-nul.yaml": HEAD + '    env:\n      A: "x\\0y"\n      B: "$E:"\n      C: "$S:"\n      D: "$S:@svc/name/field"\n      E: "$E:HOME"\n',
    "env-dup.yaml": HEAD + "    env:\n      A: 1\n      A: 2\n",
    "env-non-string.yaml": HEAD + "    env:\n      A: [1]\n      B: {x: 1}\n      C: ~\n      D: true\n      E: 1.5e3\n",
    "storage-all.yaml": HEAD + """    storage:
      - {type: bind, source: /host, target: /data, readonly: true}
      - {type: named, name: My_Vol, target: /../x}
      - {type: anonymous, target: /cache}
      - {type: anonymous, target: /cache/}
      - {type: tmpfs, target: /tmp, size: 64Mi, mode: 1777}
      - {type: tmpfs, target: /t2, mode: 0o17777}
      - {type: tmpfs, target: /t3, mode: "0999"}
      - {type: s3, bucket: b, prefix: p/../q, target: /s3}
      - {type: unknown, target: /x}
      - !!map {type: bind}
""",
    "devices-caps.yaml": HEAD + """    privileged: false
    devices:
      - {path: /dev/null, read: true, write: true, mknod: true}
      - {path: dev/relative}
      - {path: nvidia.com/gpu=0}
      - {path: /dev/does-not-exist, read: false, write: false, mknod: false}
    capabilities: [net_admin, CAP_SYS_TIME, cap_cap_chown, ALL, bogus, ""]
    cap_drop: [ALL, CAP_ALL, chown]
    cgroup_parent: /a/../b:c
    user: "nobody:nogroup"
    sysctls: {net.core.somaxconn: "1024", "": x}
""",
    "gpu-all.yaml": HEAD + """    resources:
      gpu:
        count: 99999
        vendor: nvidia
        mode: shared
        sharing: mps
        mps_pipe_dir: relative
        time_slice_index: -5
        distributed: {backend: nccl, master_port: 70000}
""",
    "network-modes.yaml": HEAD + "    network_mode: container:abc\n    host_network: true\n    dns: [1.1.1.1, '::1', '']\n    hostname: \"\"\n",
    "rtype-cron.yaml": "version: v1\ndeployment: cron-edge\nservices:\n  c:\n    rtype: cron\n    schedule: \"0 0 * * * * 2099-2100/0\"\n    image: {name: \"busybox@sha256:" + "a" * 64 + "\"}\n",
    "services-many.yaml": "version: v1\ndeployment: many\nservices:\n" + "".join(
        "  s%d: {image: {name: busybox}}\n" % i for i in range(300)),
    "services-alias-laughs.yaml": "version: v1\ndeployment: laughs\nx-base: &svc {image: {name: busybox}, env: {A: '1'}}\nservices:\n  a: *svc\n  b: *svc\n",
    "service-name-weird.yaml": "version: v1\ndeployment: weird\nservices:\n  \"../../x\": {image: {name: busybox}}\n  \"\": {image: {name: busybox}}\n  \"a b\\0c\": {image: {name: busybox}}\n",
    "command-args.yaml": HEAD + "    command:\n      entrypoint: []\n      args: [\"\", \"\\0\"]\n      workdir: relative/dir\n",
    "image-ref-weird.yaml": "version: v1\ndeployment: imgs\nservices:\n  a: {image: {name: \"UPPER/case:tag\"}}\n  b: {image: {name: \"host:99999/x@sha256:abc\"}}\n  c: {image: {name: \"\"}}\n  d: {image: {name: \"" + "a/" * 200 + "x\"}}\n",
}

for k, v in yaml_shapes.items():
    put("spec", k, v)
    put("cdi", k, v)
for k, v in spec_edges.items():
    put("spec", k, v)

# ---- CDI ------------------------------------------------------------
cdi_base = 'cdiVersion: "%s"\nkind: vendor.com/class\ndevices:\n'
cdi_edges = {
    "numbers-huge.yaml": cdi_base % "0.6.0" + """  - name: gpu0
    containerEdits:
      deviceNodes:
        - {path: /dev/x, type: c, major: 99999999999999999999, minor: -1, fileMode: 0o7777777, uid: 4294967296, gid: -1}
        - {path: /dev/y, major: 1e400, minor: .nan, permissions: rwmx}
      additionalGids: [4294967295, 4294967296, -1, 0x10]
      hooks:
        - {hookName: createRuntime, path: /bin/true, timeout: -9223372036854775808}
""",
    "all-edits.json": '{"cdiVersion":"1.1.0","kind":"example.com/dev","annotations":{"a":"b"},'
    '"containerEdits":{"env":["A=1","B"],"additionalGids":[5],'
    '"intelRdt":{"closID":"c","l3CacheSchema":"L3:0=f","memBwSchema":"MB:0=50","schemata":["x"],"enableMonitoring":true},'
    '"netDevices":[{"hostInterfaceName":"eth0","name":"eth1"}]},'
    '"devices":[{"name":"d0","annotations":{"k":"v"},"containerEdits":{'
    '"deviceNodes":[{"path":"/dev/null","hostPath":"/dev/null","type":"c","permissions":"rw","fileMode":438,"uid":0,"gid":0}],'
    '"mounts":[{"hostPath":"/h","containerPath":"/c","type":"bind","options":["ro","rbind"]},'
    '{"hostPath":"/h2","containerPath":"/c/../d"}],'
    '"hooks":[{"hookName":"prestart","path":"/bin/hook","args":["a"],"env":["X=1"],"timeout":5}]}}]}',
    "versions-weird.yaml": cdi_base % "v1.1.0" + "  - name: d\n    containerEdits: {env: [A=1]}\n",
    "version-huge.yaml": cdi_base % "99999999999999999999.0.0" + "  - name: d\n    containerEdits: {env: [A=1]}\n",
    "version-empty.yaml": cdi_base % "" + "  - name: d\n    containerEdits: {env: [A=1]}\n",
    "names-weird.yaml": 'cdiVersion: "0.6.0"\nkind: "a/b=c"\ndevices:\n  - name: ""\n    containerEdits: {env: [A=1]}\n  - name: "x/y"\n    containerEdits: {env: [A=1]}\n  - name: "' + "n" * 300 + '"\n    containerEdits: {env: [A=1]}\n',
    "json-nul.json": '{"cdiVersion":"0.6.0","kind":"v.com/c","devices":[{"name":"d","containerEdits":{"env":["A=\\u0000"]}}]}',
    "json-bad-escape.json": '{"cdiVersion":"0.6.0","kind":"v.com/c","devices":[{"name":"d\\q","containerEdits":{"env":["A=1"]}}]}',
    "json-deep.json": '{"cdiVersion":"0.6.0","kind":"v.com/c","annotations":' + "[" * 100 + "]" * 100 + "}",
    "json-dup.json": '{"cdiVersion":"0.6.0","cdiVersion":"0.5.0","kind":"v.com/c","devices":[]}',
    "mounts-many-depth.yaml": cdi_base % "0.6.0" + "  - name: d\n    containerEdits:\n      mounts:\n" + "".join(
        "        - {hostPath: /h%d, containerPath: %s}\n" % (i, "/a" * (i % 40 + 1)) for i in range(60)),
    "device-nodes-many.yaml": cdi_base % "0.6.0" + "".join(
        "  - name: d%d\n    containerEdits:\n      deviceNodes: [{path: /dev/n%d, major: %d, minor: %d}]\n" % (i, i, i, i) for i in range(50)),
}
for k, v in cdi_edges.items():
    put("cdi", k, v)

# ---- image config (JSON) -------------------------------------------
ic = {
    "depth-2100.json": "[" * 2100 + "]" * 2100,
    "depth-config-500.json": '{"config":' + '{"a":' * 500 + "1" + "}" * 501,
    "numbers-huge.json": '{"config":{"User":1e400,"Env":[99999999999999999999999]},"x":-0}',
    "nul-escape.json": '{"config":{"User":"ro\\u0000ot","Env":["A=\\u0000"],"Cmd":["\\u0000"]}}',
    "nul-raw.json": b'{"config":{"User":"r\x00"}}',
    "utf8-invalid.json": b'{"config":{"User":"\xff\xfe"}}',
    "utf8-overlong.json": b'{"config":{"User":"\xc0\xaf"}}',
    "surrogate-lone.json": '{"config":{"User":"\\ud800"}}',
    "surrogate-pair.json": '{"config":{"User":"\\ud83d\\ude00"}}',
    "escape-bad.json": '{"config":{"User":"\\q"}}',
    "escape-short-u.json": '{"config":{"User":"\\u12"}}',
    "dup-keys.json": '{"config":{"User":"a","User":"b"}}',
    "config-null.json": '{"config":null}',
    "config-array.json": '{"config":[]}',
    "config-string.json": '{"config":"x"}',
    "bare-inner.json": '{"User":"1000:1000","WorkingDir":"/w","Env":["A=1"],"Entrypoint":["/e"],"Cmd":["c"],"StopSignal":"SIGKILL"}',
    "blob-with-rootfs.json": '{"rootfs":{"type":"layers"},"architecture":"amd64"}',
    "env-non-string.json": '{"config":{"Env":["A=1",2,null]}}',
    "entrypoint-null-cmd.json": '{"config":{"Entrypoint":null,"Cmd":[]}}',
    "entrypoint-string.json": '{"config":{"Entrypoint":"/bin/sh"}}',
    "top-array.json": '[{"config":{}}]',
    "top-null.json": "null",
    "top-number.json": "1e999",
    "empty.json": "",
    "bom.json": b'\xef\xbb\xbf{"config":{}}',
    "trailing-garbage.json": '{"config":{}} x',
    "two-objects.json": '{}{}',
    "unterminated.json": '{"config":{"Env":["A=1"',
    "long-env.json": '{"config":{"Env":[' + ",".join('"K%d=%s"' % (i, "v" * 50) for i in range(2000)) + ']}}',
}
for k, v in ic.items():
    put("image_config", k, v)

# ---- secret references / env values ---------------------------------
refs = [
    "$S:name", "$S:name/field", "$S:@svc/name", "$S:@svc/name/field", "$S:[proj]:env/name",
    "$S:proj:env/name/field", "$S::env/name", "$S:", "$S:/", "$S:@", "$S:@/x", "$S:@svc/",
    "$S:@svc//x", "$S:a/b/c", "$S:a:b", "$S:a:/b", "$S::/b", "$S:a:b:c/d", "$S:../../etc/passwd",
    "$S:@../x/y", "$S:name/", "$S:1abc", "$S:a b", "$S:\xff\xfe", "$S:a\x00b", "$$S:x", "$S:$S:x",
    "$E:HOME", "$E:", "$E:ZAGENT_FUZZ_UNSET_VARIABLE", "$E:PATH/x", "$E:A=B", "$e:HOME",
    "literal", "", "$", "$S", "$E", "$S:" + "n" * 5000, "$S:@" + "s/" * 2000 + "n",
    "name", "@svc/name/field", "[p]:e/n/f", "plain value with $S: inside",
]
for i, r in enumerate(refs):
    put("secret_ref", "%02d" % i, r.encode("latin-1"))

# ---- units: memory, durations, cron, image refs, capabilities -------
units = {
    "memory": ["512Mi", "1Gi", "0", "+1Ki", "-1Mi", "1.5Gi", "9223372036854775807", "9223372036854775808",
               "8589934592Gi", "8Ei", "99999999999999999999999", "1k", "1m", "1K", "1Ti", " 64Mi ", "Mi",
               "", " ", "1 Gi", "0x10", "1e3", "\t1Gi\t"],
    "duration": ["30s", "5m30s", "1h 30m", "2days", "100ms", "1y", "1month", "0", "0s", "s", "1",
                 "18446744073709551615s", "18446744073709551616ns", "99999999999999999999d", "1.5h",
                 "-1s", "1 s", "1ss", "1h1h1h1h", "1nsec 2usec 3msec", "5 minutes", "\u00b5s", "1µs"],
    "cron": ["@yearly", "@monthly", "@weekly", "@daily", "@hourly", "@reboot", "0 0 * * * *",
             "0 0 * * * * *", "* * * * *", "0/0 * * * * *", "59-0 * * * * *", "0 0 0 31 2 * 2099",
             "0 0 0 * * Mon-Fri", "0 0 0 * * 8", "1,2,3,4,5,6,7,8,9,10 * * * * *", "*/99999999999 * * * * *",
             "0 0 0 ? * * *", "0 0 0 L * *", "0 0 0 1 JAN-DEC/2 SUN", "", " ", "a b c d e f"],
    "image": ["nginx", "nginx:alpine", "ghcr.io/org/app:v1", "localhost:5000/app", "busybox@sha256:" + "a" * 64,
              "busybox@sha256:" + "a" * 63, "busybox@sha512:" + "b" * 128, "UPPER", "a//b", "a/", ":tag",
              "x:" + "t" * 200, "[::1]:5000/app:v1", "host:99999/x", "a" * 300, "a@b", "a:b:c", "a.b-c_d__e/f"],
    "caps": ["net_admin", "CAP_NET_ADMIN", "cap_cap_chown", "CAP_", "ALL", "cap_all", "CAP_ALL", "all",
             "sys_time", "CAP_CHECKPOINT_RESTORE", "cap_last_cap", "", "CAP_SYS_ADMIN\x00x", "c\xffap"],
}
for k, lines in units.items():
    put("units", k, "\n".join(lines).encode("utf-8", "surrogateescape"))
put("units", "mixed-nul-and-crlf", b"1Gi\x00junk\r\n30s\r\n@daily\r\nnginx\r\nchown")


# ---- OCI layout layers (tar, gzip, zstd) ----------------------------
def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            kind, name = e[0], e[1]
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            data = b""
            if kind == "file":
                data = e[2] if len(e) > 2 else b"x\n"
                ti.size = len(data)
                ti.mode = e[3] if len(e) > 3 else 0o644
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = e[2] if len(e) > 2 else 0o755
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "xattr":
                ti.size = 1
                data = b"x"
                ti.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
                                  "SCHILY.xattr.user.test": "v"}
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def zstd(data):
    try:
        return subprocess.run(["zstd", "-q", "-c", "-19"], input=data, stdout=subprocess.PIPE, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


simple = tar([("dir", "bin"), ("file", "bin/sh", b"#!/bin/true\n", 0o755), ("sym", "bin/ash", "sh"),
              ("dir", "etc"), ("file", "etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
              ("hard", "etc/passwd2", "etc/passwd")])
layers = {
    "empty.tar": b"",
    "zero-blocks.tar": b"\0" * 1024,
    "simple.tar": simple,
    "simple.tar.gz": gzip.compress(simple, mtime=0),
    "gnu-longname.tar": tar([("file", "d/" + "n" * 150), ("sym", "l" * 120, "t" * 120)], tarfile.GNU_FORMAT),
    "ustar.tar": tar([("dir", "a"), ("file", "a/b")], tarfile.USTAR_FORMAT),
    "whiteouts.tar": tar([("dir", "etc"), ("file", "etc/.wh.passwd", b""), ("dir", "var"),
                          ("file", "var/.wh..wh..opq", b""), ("file", "var/new"), ("file", ".wh.bin", b""),
                          ("file", "x/.wh..", b""), ("file", ".wh.", b""), ("file", ".wh...", b"")]),
    "escape-dotdot.tar": tar([("file", "../evil"), ("file", "a/../../evil2"), ("file", "./../evil3")]),
    "escape-absolute.tar": tar([("file", "/abs-evil"), ("dir", "/"), ("file", "//x")]),
    "escape-symlink-root.tar": tar([("sym", "root", "/"), ("file", "root/evil"), ("sym", "up", ".."),
                                    ("file", "up/evil2"), ("sym", "deep", "../../../../.."), ("file", "deep/x")]),
    "escape-symlink-chain.tar": tar([("sym", "a", "b"), ("sym", "b", "c"), ("sym", "c", "../.."),
                                     ("file", "a/evil"), ("sym", "loop1", "loop2"), ("sym", "loop2", "loop1"),
                                     ("file", "loop1/x")]),
    "escape-hardlink.tar": tar([("hard", "h1", "../outside"), ("hard", "h2", "/etc/passwd"),
                                ("sym", "s", "/etc"), ("hard", "h3", "s/passwd"), ("hard", "h4", "h4")]),
    "replace-types.tar": tar([("dir", "x"), ("file", "x/in"), ("file", "x"), ("file", "y"), ("dir", "y"),
                              ("sym", "z", "x"), ("dir", "z"), ("file", "z/f")]),
    "devices-fifo.tar": tar([("chr", "dev/null"), ("fifo", "run/fifo"), ("file", "ok")]),
    "modes.tar": tar([("file", "suid", b"x", 0o4755), ("file", "sgid", b"x", 0o2755), ("dir", "nowrite", 0o000),
                      ("file", "nowrite/f", b"x", 0o000), ("dir", "sticky", 0o1777)]),
    "xattrs.tar": tar([("xattr", "capfile")]),
    "modes-then-fail.tar": tar([("dir", "locked", 0o000), ("file", "locked/f", b"x", 0o000),
                                ("dir", "ro", 0o555), ("file", "ro/f"), ("file", "../evil")]),
    "truncated.tar": simple[: len(simple) // 2 + 7],
    "garbage.bin": bytes(range(256)) * 4,
    "gzip-truncated.gz": gzip.compress(simple, mtime=0)[:40],
    "gzip-of-garbage.gz": gzip.compress(b"not a tar at all" * 40, mtime=0),
    "name-weird.tar": tar([("file", "a\nb"), ("file", "tab\tname"), ("file", "bad\udcffutf8".encode("utf-8", "surrogateescape").decode("latin-1")),
                           ("file", "."), ("file", ""), ("dir", "./"), ("file", "a/./b/../c")]),
}
z = zstd(simple)
if z:
    layers["simple.tar.zst"] = z
for k, v in layers.items():
    put("layout", k, v)
