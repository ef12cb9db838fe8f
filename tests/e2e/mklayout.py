#!/usr/bin/env python3
"""mklayout.py OUT ROOTFS TAG [--split]: write an OCI image layout at OUT
holding ROOTFS as a gzip layer (with --split: bin/ in one gzip layer and
the rest plus a whiteout in a plain tar layer), tagged TAG, with an image
config whose Entrypoint/Env/User/WorkingDir come from the environment
(ENTRYPOINT as JSON, ENV as JSON list, USER, WORKDIR)."""
import gzip, hashlib, io, json, os, sys, tarfile

out, rootfs, tag = sys.argv[1:4]
split = "--split" in sys.argv
os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)

def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}

def layer(filter_fn, extra=None, compress=True):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(rootfs)):
            if filter_fn(name):
                t.add(os.path.join(rootfs, name), arcname=name)
        for (n, data) in (extra or []):
            ti = tarfile.TarInfo(n); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    data = gzip.compress(raw, mtime=0) if compress else raw
    d = blob(data)
    d["mediaType"] = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else "")
    return d, "sha256:" + hashlib.sha256(raw).hexdigest()

if split:
    layers = [layer(lambda n: n == "bin"),
              layer(lambda n: n != "bin", extra=[("etc/old.txt", b"old\n")], compress=False),
              layer(lambda n: False, extra=[("etc/.wh.old.txt", b"")], compress=True)]
else:
    layers = [layer(lambda n: True)]
cfg = {"architecture": "amd64", "os": "linux",
       "config": {"Env": json.loads(os.environ.get("ENV", '["PATH=/bin"]')),
                  "Entrypoint": json.loads(os.environ.get("ENTRYPOINT", '["/bin/sh"]')),
                  "User": os.environ.get("USER_", ""), "WorkingDir": os.environ.get("WORKDIR", "/")},
       "rootfs": {"type": "layers", "diff_ids": [l[1] for l in layers]}}
c = blob(json.dumps(cfg).encode()); c["mediaType"] = "application/vnd.oci.image.config.v1+json"
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": c, "layers": [l[0] for l in layers]}
m = blob(json.dumps(man).encode()); m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
m["annotations"] = {"org.opencontainers.image.ref.name": tag}
json.dump({"schemaVersion": 2, "manifests": [m]}, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
print(json.dumps({"manifest": m["digest"], "layers": [l[0]["digest"] for l in layers]}))
