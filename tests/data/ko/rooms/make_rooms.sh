#!/usr/bin/env bash
# The Korean wake-word clip as three rooms hear it (issue 11): committed output, regenerate with
#   tests/data/ko/rooms/make_rooms.sh
# quiet: 8 dB quieter, 60 ms lead-in; noise: white noise 20 dB below the speech, 250 ms lead-in;
# echo: a short room echo (60 ms, 110 ms) and 120 ms more lead-in. sox -R: the same bytes each run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/../wake_coffee.wav"
F=(-r 16000 -c 1 -b 16)
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
sox -R "$SRC" "${F[@]}" "$HERE/quiet.wav" gain -8 pad 0.06 0
sox -R "$SRC" "${F[@]}" "$tmp/lead.wav" pad 0.25 0
dur="$(soxi -D "$tmp/lead.wav")"
rms="$(sox "$tmp/lead.wav" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')"
sox -R -n "${F[@]}" "$tmp/noise.wav" synth "$dur" whitenoise
nrms="$(sox "$tmp/noise.wav" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')"
vol="$(awk -v s="$rms" -v n="$nrms" 'BEGIN {printf "%.6f", s / n / 10}')"
sox -R -m -v 1 "$tmp/lead.wav" -v "$vol" "$tmp/noise.wav" -b 16 "$HERE/noise.wav"
sox -R "$SRC" "${F[@]}" "$HERE/echo.wav" echos 0.8 0.8 60 0.35 110 0.2 pad 0.12 0
