#!/bin/sh
# make check: run every suite in each build dir given (plain, ASan+UBSan),
# then print the closing line "N passed, N failed, N skipped".
set -u
status=0
for b in "$@"; do
  # The stress suite (thousands of SIGKILLed runs, 50 containers at once)
  # runs in plain builds only; under sanitizers it would take far too long.
  skip=
  if python3 - "$b" <<'PY'
import json, sys
opts = json.load(open(sys.argv[1] + "/meson-info/intro-buildoptions.json"))
v = [o["value"] for o in opts if o["name"] == "b_sanitize"]
v = v[0] if v else "none"
v = v.split(",") if isinstance(v, str) else list(v)
sys.exit(0 if [x for x in v if x not in ("none", "")] else 1)
PY
  then skip="--no-suite stress"
  fi
  echo "== meson test -C $b $skip"
  meson test -C "$b" --print-errorlogs --num-processes 2 $skip || status=1
done
python3 - "$@" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
for b in sys.argv[1:]:
    try:
        root = ET.parse(b + "/meson-logs/testlog.junit.xml").getroot()
    except Exception as e:
        print("no test log in %s: %s" % (b, e)); f += 1; continue
    for c in root.iter("testcase"):
        if c.find("failure") is not None or c.find("error") is not None:
            f += 1
        elif c.find("skipped") is not None:
            s += 1
        else:
            p += 1
if p == 0:
    f += 1  # a run that passed nothing must not look green
print("%d passed, %d failed, %d skipped" % (p, f, s))
sys.exit(1 if f else 0)
PY
[ $? = 0 ] || status=1
exit $status
