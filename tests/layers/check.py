#!/usr/bin/env python3
"""The layers of libzagent have one direction (docs/architecture.md):

    util <- yaml <- spec <- oci, cdi, gpu <- bundle <- image, runtime <- api <- cli

A source file may include headers of its own layer or of a lower one, never
of a higher one; directories of one layer must not include each other in a
cycle.  cdi/name.h is a leaf (only libc below it) that spec may use.  The
CLI uses the public header only.  One TAP line per rule; a failure names the
file, line and include."""
import os, re, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
src = os.path.join(root, "src")
LAYER = {"util": 0, "yaml": 1, "spec": 2, "oci": 3, "cdi": 3, "gpu": 3,
         "bundle": 4,
         # hook/ (zagent-cdi-hook) sits on util/ only: between util and yaml
         "hook": 0.5, "image": 5, "runtime": 5, "api": 6, "cli": 7}
LEAF = {"cdi/name.h": 0}
# The CLI reaches the library through zagent.h only (turned on once every
# cmd_*.c and the shim use the public API).
CLI_PUBLIC_ONLY = True
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

def module(rel):
    """Module of a file under src/: its directory, or "api" for src/api*."""
    d = rel.split("/")[0] if "/" in rel else "api"
    return d

def header_module(inc, here):
    if inc == "zagent.h":
        return "api"
    if "/" not in inc:
        return here  # a sibling header ("fs.h" inside util/)
    if inc.startswith("api"):
        return "api"
    return inc.split("/")[0]

problems, edges, n = [], {}, 0
files = []
for dp, _, fns in os.walk(src):
    for fn in sorted(fns):
        if fn.endswith((".c", ".h")):
            files.append(os.path.relpath(os.path.join(dp, fn), src))
for rel in sorted(files):
    here = module(rel)
    if here not in LAYER:
        problems.append("%s: directory `%s` has no layer" % (rel, here))
        continue
    mine = LEAF.get(rel, LAYER[here])
    for i, line in enumerate(open(os.path.join(src, rel), encoding="utf-8", errors="replace"), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        inc = m.group(1)
        if inc.startswith("../"):
            problems.append("%s:%d: relative include `%s`" % (rel, i, inc))
            continue
        target = header_module(inc, here)
        if target not in LAYER:
            continue
        theirs = LEAF.get(inc, LAYER[target])
        if CLI_PUBLIC_ONLY and here == "cli" and (target not in ("cli", "api") or (target == "api" and inc != "zagent.h")):
            problems.append("%s:%d: the CLI includes `%s`; it uses the public API (zagent.h) only" % (rel, i, inc))
        elif here != "cli" and theirs > mine:
            problems.append("%s:%d: `%s` (layer %s) includes `%s` (layer %s, higher)" % (rel, i, rel, here, inc, target))
        elif target != here and theirs == mine and inc not in LEAF:
            edges.setdefault(here, set()).add(target)
        n += 1

# cycles between directories of one layer
def cycle_from(a, seen, path):
    for b in sorted(edges.get(a, ())):
        if b in path:
            return path[path.index(b):] + [b]
        c = cycle_from(b, seen, path + [b])
        if c:
            return c
    return None
for a in sorted(edges):
    c = cycle_from(a, set(), [a])
    if c:
        problems.append("include cycle between directories: %s" % " -> ".join(c))
        break

print("1..2")
bad = [p for p in problems if "cycle" not in p]
print(("ok" if not bad else "not ok") + " 1 - %d includes go down or sideways, none up" % n)
for p in bad:
    print("#   " + p)
cyc = [p for p in problems if "cycle" in p]
print(("ok" if not cyc else "not ok") + " 2 - no include cycle between directories of one layer")
for p in cyc:
    print("#   " + p)
sys.exit(1 if problems else 0)
