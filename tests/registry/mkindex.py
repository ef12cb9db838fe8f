#!/usr/bin/env python3
"""mkindex.py LAYOUT TAG [--foreign-only]: turn the single-manifest OCI
layout LAYOUT (from tests/e2e/mklayout.py) into a multi-platform image:
an image index tagged TAG listing the original manifest for this machine
plus linux/arm64/v8 and linux/s390x manifests (same layers, their own
configs).  --foreign-only leaves this machine's entry out."""
import hashlib, json, os, platform, sys

out, tag = sys.argv[1:3]
foreign_only = "--foreign-only" in sys.argv
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x", "ppc64le": "ppc64le"}
host = ARCH.get(platform.machine(), platform.machine())

def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}

def read(desc):
    with open(os.path.join(out, "blobs", "sha256", desc["digest"][7:]), "rb") as f:
        return f.read()

idx = json.load(open(os.path.join(out, "index.json")))
mdesc = idx["manifests"][0]
man = json.loads(read(mdesc))
cfg = json.loads(read(man["config"]))
entries = []
if not foreign_only:
    e = {k: mdesc[k] for k in ("mediaType", "digest", "size")}
    e["platform"] = {"os": "linux", "architecture": host}
    entries.append(e)
for arch, variant in (("arm64", "v8"), ("s390x", None)):
    if arch == host:
        continue
    c = dict(cfg, architecture=arch)
    if variant:
        c["variant"] = variant
    cd = blob(json.dumps(c).encode()); cd["mediaType"] = man["config"]["mediaType"]
    m = dict(man, config=cd)
    md = blob(json.dumps(m).encode()); md["mediaType"] = mdesc["mediaType"]
    md["platform"] = {"os": "linux", "architecture": arch}
    if variant:
        md["platform"]["variant"] = variant
    entries.append(md)
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": entries}
d = blob(json.dumps(index).encode())
d["mediaType"] = index["mediaType"]
d["annotations"] = {"org.opencontainers.image.ref.name": tag}
json.dump({"schemaVersion": 2, "manifests": [d]}, open(os.path.join(out, "index.json"), "w"))
