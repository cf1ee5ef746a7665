#!/bin/sh
# Inputs people have: JPEG photos, WAV audio, CSV tables, signed 1-D
# signals; formats rbpe does not read are refused by name; render writes
# the format its output's name asks for.
#   usage: test_formats.sh PATH/TO/rbpe
set -u
RBPE=$1
DATA=${RBPE_SOURCE_ROOT:?}/tests/data
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# metric FILE KEY: a number from metrics.json
metric() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
SMALL="--layers 1 --width 64 --centres 32 --quiet --device cpu"

# JPEG: gray and colour, from a file and through a pipe
"$RBPE" info "$DATA/astronaut64.jpg" >"$tmp/out" 2>&1 &&
  grep -q "64 x 64, 3 channel(s)" "$tmp/out" && ok || bad "info on a colour JPEG: $(cat "$tmp/out")"
"$RBPE" info - <"$DATA/camera64.jpg" >"$tmp/out" 2>&1 &&
  grep -q "64 x 64, 1 channel(s)" "$tmp/out" && ok || bad "a gray JPEG on standard input: $(cat "$tmp/out")"
cp "$DATA/camera64.jpg" "$tmp/photo.png" # the name does not matter, the content does
"$RBPE" fit "$tmp/photo.png" --steps 100 $SMALL --out "$tmp/jpg" >/dev/null 2>&1 &&
  python3 -c "import sys; sys.exit(0 if $(metric "$tmp/jpg/metrics.json" test_psnr) > 15 else 1)" &&
  ok || bad "fit a JPEG"
head -c 900 "$DATA/astronaut64.jpg" >"$tmp/cut.jpg"
"$RBPE" info "$tmp/cut.jpg" >/dev/null 2>"$tmp/err"
[ $? -eq 4 ] && grep -q "truncated" "$tmp/err" && ok || bad "a truncated JPEG: $(cat "$tmp/err")"

# WAV: stereo 16-bit at 8 kHz, written here; one channel or both; render
# back to WAV at the same rate
python3 - "$tmp/tone.wav" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(2); w.setframerate(8000)
n = 1600
w.writeframes(b"".join(struct.pack("<hh",
    int(12000 * math.sin(2 * math.pi * 110 * i / 8000)),
    int(6000 * math.sin(2 * math.pi * 55 * i / 8000))) for i in range(n)))
w.close()
PY
"$RBPE" info "$tmp/tone.wav" >"$tmp/out" 2>&1 &&
  grep -q "1600, 2 channel(s), 3200 values, 8000 Hz audio, 16-bit" "$tmp/out" && ok || bad "info on a WAV: $(cat "$tmp/out")"
"$RBPE" info "$tmp/tone.wav" --channel 2 >"$tmp/out" 2>&1 &&
  grep -q "1 channel(s)" "$tmp/out" && ok || bad "--channel 2 of a WAV: $(cat "$tmp/out")"
"$RBPE" info "$tmp/tone.wav" --channel 3 >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "--channel 3 of a 2-channel WAV accepted"
"$RBPE" fit "$tmp/tone.wav" --steps 300 $SMALL --out "$tmp/wav" >/dev/null 2>"$tmp/err" &&
  [ "$(metric "$tmp/wav/metrics.json" out_act_used)" = none ] && ok || bad "fit a WAV: $(cat "$tmp/err")"
"$RBPE" info "$tmp/wav/model.rbpe" | grep -q "2 channel(s)" && ok || bad "the WAV model's channels"
"$RBPE" render "$tmp/wav/model.rbpe" -o "$tmp/back.wav" --quiet 2>/dev/null &&
  "$RBPE" info "$tmp/back.wav" | grep -q "1600, 2 channel(s), 3200 values, 8000 Hz audio" && ok ||
  bad "render a WAV model to WAV"
"$RBPE" render "$tmp/wav/model.rbpe" -o "$tmp/back.png" --quiet 2>/dev/null
[ $? -eq 2 ] && [ ! -e "$tmp/back.png" ] && ok || bad "a 1-D model rendered to .png"
"$RBPE" render "$tmp/jpg/model.rbpe" -o "$tmp/photo.wav" --quiet 2>/dev/null
[ $? -eq 2 ] && [ ! -e "$tmp/photo.wav" ] && ok || bad "a 2-D model rendered to .wav"

# CSV with a header: columns are channels; text round trip through render
printf 'x,y\n' >"$tmp/t.csv"
python3 -c "
import math
for i in range(400): print(f'{0.5+0.4*math.sin(i/20):.6f},{0.5+0.3*math.cos(i/9):.6f}')" >>"$tmp/t.csv"
"$RBPE" info "$tmp/t.csv" | grep -q "400, 2 channel(s)" && ok || bad "info on a CSV"
"$RBPE" fit "$tmp/t.csv" --steps 200 $SMALL --out "$tmp/csv" >/dev/null 2>&1 &&
  "$RBPE" render "$tmp/csv/model.rbpe" -o "$tmp/csv.txt" --quiet 2>/dev/null &&
  "$RBPE" info "$tmp/csv.txt" | grep -q "400, 2 channel(s)" && ok || bad "fit and render a CSV"

# formats rbpe does not read: refused by name, exit 4
printf 'GIF89a\001\000\001\000' >"$tmp/a.gif"
"$RBPE" info "$tmp/a.gif" >/dev/null 2>"$tmp/err"
[ $? -eq 4 ] && grep -q "a GIF file" "$tmp/err" && ok || bad "GIF: $(cat "$tmp/err")"
printf 'ID3\003\000\000\000\000\000\000' >"$tmp/a.mp3"
"$RBPE" fit "$tmp/a.mp3" --out "$tmp/mp3" >/dev/null 2>"$tmp/err"
[ $? -eq 4 ] && grep -q "MP3" "$tmp/err" && ok || bad "MP3: $(cat "$tmp/err")"
printf '\000\001\002binary' >"$tmp/blob"
"$RBPE" info "$tmp/blob" >/dev/null 2>"$tmp/err"
[ $? -eq 4 ] && grep -q "format rbpe does not read" "$tmp/err" && ok || bad "unknown binary: $(cat "$tmp/err")"

# Signed 1-D data with the default flags: the output activation follows the
# data (none here), PSNR uses its peak-to-peak range; a chirp in
# [-0.76, 0.76] must reach 35 dB held-out
python3 -c "
import math
n = 1000
for i in range(n):
    x = (i + 0.5) / n
    print(0.74 * math.sin(2 * math.pi * (2 * x + 14 * x * x)) + 0.02 * math.cos(3 * x))" >"$tmp/chirp.txt"
"$RBPE" fit "$tmp/chirp.txt" --device cpu --out "$tmp/chirp" >"$tmp/out" 2>"$tmp/err" || bad "fit the chirp: $(cat "$tmp/err")"
grep -q "output activation none (auto)" "$tmp/err" && ok || bad "the activation choice is not said"
psnr=$(metric "$tmp/chirp/metrics.json" test_psnr)
echo "signed chirp, default flags: held-out $psnr dB"
python3 -c "import sys; sys.exit(0 if $psnr >= 35 else 1)" && ok || bad "signed chirp at $psnr dB (want >= 35)"
[ "$(metric "$tmp/chirp/metrics.json" out_act_used)" = none ] && ok || bad "chirp's activation"
# any activation fits it: the values are mapped onto [0, 1] and back
"$RBPE" fit "$tmp/chirp.txt" --out-act sigmoid --device cpu --out "$tmp/chirp-sig" >/dev/null 2>"$tmp/err"
grep -q "fitted mapped onto \[0, 1\] with output activation sigmoid" "$tmp/err" && ok || bad "sigmoid on signed data: $(cat "$tmp/err")"
psnr=$(metric "$tmp/chirp-sig/metrics.json" test_psnr)
echo "signed chirp, --out-act sigmoid: held-out $psnr dB"
python3 -c "import sys; sys.exit(0 if $psnr > 28 else 1)" && ok || bad "chirp with a sigmoid output: $psnr dB"
"$RBPE" render "$tmp/chirp/model.rbpe" -o "$tmp/chirp-back.txt" --quiet 2>/dev/null &&
  "$RBPE" info "$tmp/chirp-back.txt" | python3 -c "
import re, sys
lo, hi = map(float, re.search(r'values in \[(\S+), (\S+)\]', sys.stdin.read()).groups())
sys.exit(0 if lo < -0.7 and hi > 0.7 else 1)" && ok || bad "the rendered chirp is not in the data's units"
# a ramp far from [0, 1]: PSNR over its range, a sane number
seq 1 3000 | "$RBPE" fit - --steps 300 $SMALL --out "$tmp/ramp" >/dev/null 2>&1
peak=$(metric "$tmp/ramp/metrics.json" psnr_peak)
psnr=$(metric "$tmp/ramp/metrics.json" test_psnr)
echo "seq 1 3000, 300 steps of a small MLP: held-out $psnr dB over a peak of $peak"
python3 -c "import sys; sys.exit(0 if $peak == 2999 and $psnr > 30 else 1)" && ok ||
  bad "seq 1 3000: peak $peak, PSNR $psnr"

# --split all: a fit of every sample, said to be one
"$RBPE" fit "$DATA/camera64.png" --split all --steps 50 $SMALL --out "$tmp/all" >"$tmp/out" 2>&1 &&
  grep -q "fitting PSNR" "$tmp/out" && grep -q '"psnr_kind": "fitting' "$tmp/all/metrics.json" &&
  [ "$(metric "$tmp/all/metrics.json" n_test)" = 4096 ] && ok || bad "--split all: $(cat "$tmp/out")"

echo "test_formats: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
