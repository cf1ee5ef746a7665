#!/bin/sh
# The figures of rbpe fit on every output kind: with cairo (argument
# "cairo") PNG and SVG panels, plots and curves with the sizes their layout
# gives, SVG that parses as XML, a machine without fonts warned about and
# still served; without cairo ("plain") the plain pictures and a clear
# refusal of SVG. Usage: test_figures.sh RBPE cairo|plain DATA_DIR
set -u
RBPE=$1
KIND=$2
DATA=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
python3 -c "
import math
for i in range(400): print(math.sin(2*math.pi*(2+20*i/400)*i/400))" >"$tmp/chirp.txt"
LOUD="--steps 30 --layers 1 --width 32 --centres 32 -d cpu"
FAST="$LOUD -q"

# PNG width and height, or SVG width and height in points, and whether an
# SVG parses and holds pictures and drawn text (cairo draws glyphs as
# symbols it then uses).
cat >"$tmp/size.py" <<'PY'
import struct, sys
import xml.etree.ElementTree as ET
p = sys.argv[1]
if p.endswith(".png"):
    b = open(p, "rb").read(33)
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    w, h = struct.unpack(">II", b[16:24])
    print(w, h)
else:
    root = ET.parse(p).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
    w = float(root.get("width").rstrip("pt"))
    h = float(root.get("height").rstrip("pt"))
    tags = {e.tag.split("}")[1] for e in root.iter()}
    print(round(w), round(h), "image" in tags, "symbol" in tags or "glyph" in tags)
PY
size() { python3 "$tmp/size.py" "$1"; }

if [ "$KIND" = plain ]; then
  "$RBPE" fit "$DATA/camera64.png" $LOUD --out "$tmp/p" 2>"$tmp/err" || bad "plain fit"
  grep -q "built without cairo" "$tmp/err" || bad "no word of the plain pictures"
  [ -s "$tmp/p/panel.png" ] && [ ! -e "$tmp/p/curve.png" ] || bad "plain outputs: $(ls "$tmp/p")"
  # tiles of 64 side by side with 4-pixel gaps, five with the sigma map
  [ "$(size "$tmp/p/panel.png")" = "336 64" ] || bad "plain panel size $(size "$tmp/p/panel.png")"
  "$RBPE" fit "$DATA/camera64.png" $FAST --figures svg --out "$tmp/s" 2>"$tmp/err"
  rc=$?
  [ $rc -eq 2 ] && grep -q "needs cairo" "$tmp/err" && [ ! -e "$tmp/s/model.rbpe" ] ||
    bad "--figures svg without cairo: exit $rc, $(cat "$tmp/err")"
  [ $fail -eq 0 ] && echo "figures: plain pictures, SVG refused"
  exit $fail
fi

# 2-D, learned sigma, both kinds
"$RBPE" fit "$DATA/camera64.png" $FAST --figures both --out "$tmp/b" 2>"$tmp/err" ||
  { cat "$tmp/err"; bad "fit --figures both"; }
for f in panel.png panel.svg curve.png curve.svg reconstruction.png sigma.png; do
  [ -s "$tmp/b/$f" ] || bad "fit --figures both: no $f"
done
set -- $(size "$tmp/b/panel.png")
pw=$1 ph=$2
# five 256-wide tiles (64 px at 4x) with their gaps, margins and bar
[ "$pw" -ge 1400 ] && [ "$pw" -le 1600 ] && [ "$ph" -ge 330 ] && [ "$ph" -le 480 ] ||
  bad "panel.png is ${pw}x$ph"
set -- $(size "$tmp/b/panel.svg")
[ "$1" = "$pw" ] && [ "$2" = "$ph" ] && [ "$3" = True ] && [ "$4" = True ] ||
  bad "panel.svg: $* (want $pw $ph True True)"
set -- $(size "$tmp/b/curve.svg")
[ "$1" = 640 ] && [ "$3" = False ] && [ "$4" = True ] || bad "curve.svg: $*"
python3 - "$tmp/b/metrics.json" <<'PY' || bad "metrics.json's held-out curve"
import json, sys
m = json.load(open(sys.argv[1]))
c, h = m["loss_curve"], m["heldout_curve"]
assert [s for s, _ in c] == [s for s, _ in h], "steps differ"
assert m["heldout_curve_samples"] == 1024, m["heldout_curve_samples"]
assert all(v > 0 for _, v in h) and h[-1][1] < h[0][1], h
PY

# a uniform sigma: four tiles, no colour bar: narrower; svg only
"$RBPE" fit "$DATA/camera64.png" $FAST --sigma uniform:0.03 --figures svg --out "$tmp/u" 2>/dev/null ||
  bad "fit --figures svg"
[ -s "$tmp/u/panel.svg" ] && [ -s "$tmp/u/curve.svg" ] && [ ! -e "$tmp/u/panel.png" ] &&
  [ ! -e "$tmp/u/curve.png" ] && [ -s "$tmp/u/reconstruction.png" ] || bad "svg-only outputs: $(ls "$tmp/u")"
set -- $(size "$tmp/u/panel.svg")
[ "$1" -lt $((pw - 250)) ] || bad "uniform panel not narrower: $1 vs $pw"

# 1-D, learned sigma: the plot with its second axis, the curve
"$RBPE" fit "$tmp/chirp.txt" $FAST --out "$tmp/one" 2>/dev/null || bad "1-D fit"
[ "$(size "$tmp/one/plot.png" | cut -d' ' -f1)" = 980 ] && [ -s "$tmp/one/curve.png" ] ||
  bad "1-D figures: $(ls "$tmp/one")"

# a machine without fonts: a warning (even with -q), figures without text
mkdir -p "$tmp/nofont"
cat >"$tmp/nofont/fonts.conf" <<EOF
<?xml version="1.0"?>
<fontconfig><dir>$tmp/nofont/none</dir><cachedir>$tmp/nofont/cache</cachedir></fontconfig>
EOF
FONTCONFIG_FILE="$tmp/nofont/fonts.conf" "$RBPE" fit "$DATA/camera64.png" $FAST \
  --figures both --out "$tmp/nf" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || bad "fit without fonts: exit $rc"
grep -q "warning: no font found through fontconfig (install fonts-dejavu-core)" "$tmp/err" ||
  bad "no clear message without fonts: $(cat "$tmp/err")"
set -- $(size "$tmp/nf/panel.svg")
[ "$1" = "$pw" ] && [ "$4" = False ] || bad "panel.svg without fonts: $*"

# a bad --figures value
"$RBPE" fit "$DATA/camera64.png" $FAST --figures gif --out "$tmp/g" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "png, svg or both" "$tmp/err" || bad "--figures gif accepted"

[ $fail -eq 0 ] && echo "figures: panels, plots and curves in PNG and SVG; no fonts warned"
exit $fail
