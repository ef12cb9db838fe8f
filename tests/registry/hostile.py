#!/usr/bin/env python3
"""hostile.py LAYOUT PORTFILE OTHERLOG: a broken or hostile registry for
the tests.  Serves the single image of the OCI layout LAYOUT on
127.0.0.1 (a free port, written with the "other host" port to PORTFILE as
"PORT OTHERPORT"); the repository name picks the behaviour:

  good         a correct registry
  wrongdigest  layer blobs with one byte changed (same size)
  truncated    layer blobs cut off half-way (Content-Length says all)
  short        layer blobs of half the size (Content-Length says so)
  long         layer blobs with extra bytes
  bigmanifest  a 5 MiB manifest
  stall        answers nothing for 60 s
  foreign      an index with only linux/arm64 and linux/s390x
  schema1      a Docker schema 1 manifest
  flaky        layer blobs fail twice with 503, then succeed
  headers      2 MiB of response headers
  errorbody    404 with a 64 MiB error body
  basic        needs Basic zuser:zpass; blobs redirect to the other host
  bearer       needs a Bearer token from /token (Basic zuser:zpass there
               over HTTPS only, so anonymous here); blobs redirect to the
               other host
The other host ("localhost" at another port: another origin) serves /blob/DIGEST and
appends every request's headers to OTHERLOG."""
import base64, hashlib, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

layout, portfile, otherlog = sys.argv[1:4]
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BASIC = "Basic " + base64.b64encode(b"zuser:zpass").decode()
TOKEN = "tok-" + hashlib.sha256(os.urandom(8)).hexdigest()[:16]

def read_blob(digest):
    p = os.path.join(layout, "blobs", "sha256", digest[7:])
    return open(p, "rb").read() if digest.startswith("sha256:") and os.path.isfile(p) else None

idx = json.load(open(os.path.join(layout, "index.json")))
MANIFEST = read_blob(idx["manifests"][0]["digest"])
man = json.loads(MANIFEST)
LAYERS = {l["digest"] for l in man["layers"]}
flaky_count = {}
lock = threading.Lock()

def foreign_index():
    entries = []
    for arch in ("arm64", "s390x"):
        entries.append({"mediaType": OCI_MANIFEST, "size": len(MANIFEST),
                        "digest": "sha256:" + hashlib.sha256(MANIFEST).hexdigest(),
                        "platform": {"os": "linux", "architecture": arch}})
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()

SCHEMA1 = json.dumps({"schemaVersion": 1, "name": "schema1", "tag": "v1", "architecture": "amd64",
                      "fsLayers": [], "history": [], "signatures": []}).encode()

class Other(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        with open(otherlog, "a") as f:
            f.write("GET %s\n%s\n" % (self.path, "".join("%s: %s\n" % kv for kv in self.headers.items())))
        data = read_blob(self.path[len("/blob/"):]) if self.path.startswith("/blob/") else None
        if data is None:
            self.send_response(404); self.end_headers(); return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

class Reg(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def send(self, code, data=b"", ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def authorised(self, mode):
        a = self.headers.get("Authorization", "")
        if mode == "basic" and a != BASIC:
            self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                      extra=[("WWW-Authenticate", 'Basic realm="hostile"')])
            return False
        if mode == "bearer" and a != "Bearer " + TOKEN:
            realm = "http://%s/token" % self.headers.get("Host")
            self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                      extra=[("WWW-Authenticate",
                              'Bearer realm="%s",service="hostile",scope="repository:bearer:pull"' % realm)])
            return False
        return True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        p = self.path
        if p == "/v2/" or p == "/v2":
            return self.send(200, b"{}")
        if p.startswith("/token"):
            return self.send(200, json.dumps({"token": TOKEN}).encode())
        parts = p.split("/")
        if len(parts) != 5 or parts[1] != "v2":
            return self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
        mode, kind, ref = parts[2], parts[3], parts[4]
        if mode == "stall":
            time.sleep(60)
            return
        if not self.authorised(mode):
            return
        if mode == "headers":
            self.send_response(200)
            for i in range(2 << 10):
                self.send_header("X-Pad-%d" % i, "x" * 1000)
            self.end_headers()
            return
        if mode == "errorbody":
            self.send_response(404)
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            try:
                for i in range(64):
                    self.wfile.write(b"x" * (1 << 20))
            except OSError:
                pass
            return
        if kind == "manifests":
            if mode == "bigmanifest":
                pad = json.loads(MANIFEST); pad["annotations"] = {"pad": "x" * (5 << 20)}
                return self.send(200, json.dumps(pad).encode(), OCI_MANIFEST)
            if mode == "foreign":
                return self.send(200, foreign_index(), OCI_INDEX)
            if mode == "schema1":
                return self.send(200, SCHEMA1, "application/vnd.docker.distribution.manifest.v1+prettyjws")
            return self.send(200, MANIFEST, OCI_MANIFEST,
                             extra=[("Docker-Content-Digest", "sha256:" + hashlib.sha256(MANIFEST).hexdigest())])
        if kind != "blobs":
            return self.send(404)
        data = read_blob(ref)
        if data is None:
            return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
        if ref not in LAYERS:
            return self.send(200, data, "application/octet-stream")
        if mode in ("basic", "bearer"):
            other = "http://localhost:%d/blob/%s" % (other_port, ref)
            return self.send(307, b"", extra=[("Location", other)])
        if mode == "wrongdigest":
            data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
        elif mode == "short":
            data = data[: len(data) // 2]
        elif mode == "long":
            data = data + b"extra"
        elif mode == "flaky":
            with lock:
                n = flaky_count[ref] = flaky_count.get(ref, 0) + 1
            if n <= 2:
                return self.send(503, b'{"errors":[{"code":"UNAVAILABLE"}]}')
        elif mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        return self.send(200, data, "application/octet-stream")

main = ThreadingHTTPServer(("127.0.0.1", 0), Reg)
main.daemon_threads = True
oth = ThreadingHTTPServer(("127.0.0.1", 0), Other)
oth.daemon_threads = True
other_port = oth.server_address[1]
threading.Thread(target=oth.serve_forever, daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write("%d %d\n" % (main.server_address[1], other_port))
os.rename(portfile + ".tmp", portfile)
main.serve_forever()
