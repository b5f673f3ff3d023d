#!/usr/bin/env bash
# Build the acoustic evaluation set for the broadcast matcher (issue 11).
#
# For every line of bench/matcher_utterances_<locale>.txt (locales: en, ko) this speaks the sentence with
# espeak-ng, converts it to 16 kHz mono 16-bit PCM (audio/<locale>/NNN/clean.wav) and passes it
# through eight simulated rooms (audio/<locale>/NNN/roomK.wav) with sox:
#
#   room1 quiet   gain -6 dB, 150 ms extra lead-in
#   room2 noise   white noise at 20 dB SNR, 250 ms lead-in
#   room3 reverb  sox reverb 40% (wet+dry), 120 ms lead-in
#   room4 echo    60 ms echo (decay 0.35) + 110 ms echo (decay 0.2), 400 ms lead-in
#   room5 speed   speed x1.015 (tempo and pitch +1.5%), 200 ms lead-in
#   room6 phone   8 kHz resample and back, gain -3 dB, 300 ms lead-in
#   room7 combo   pitch -30 cents (1.7%), reverb 30%, gain -6 dB, 20 dB SNR noise, 350 ms lead-in
#   room8 combo2  tempo x0.985, echo, 8 kHz and back, 20 dB SNR noise, 180 ms lead-in
#
# sox runs in repeatable mode (-R), so the noise is the same on every run.
# Needs: espeak-ng, sox (apt-get install -y espeak-ng sox). Usage: ./make_rooms.sh [OUTDIR] [JOBS]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/audio}"
JOBS="${2:-$(nproc)}"
RATE=16000
SNR_DB=20

command -v espeak-ng >/dev/null || { echo "espeak-ng missing: apt-get install -y espeak-ng" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox missing: apt-get install -y sox" >&2; exit 1; }

# add_noise IN OUT: mix white noise SNR_DB below the RMS level of IN.
add_noise() {
    local in="$1" out="$2" dur rms nrms tmp vol
    tmp="$(mktemp --suffix=.wav)"
    dur="$(soxi -D "$in")"
    rms="$(sox "$in" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')"
    sox -R -n -r "$RATE" -c 1 -b 16 "$tmp" synth "$dur" whitenoise
    nrms="$(sox "$tmp" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')"
    vol="$(awk -v s="$rms" -v n="$nrms" -v snr="$SNR_DB" 'BEGIN {printf "%.6f", s / n / (10 ^ (snr / 20))}')"
    sox -R -m -v 1 "$in" -v "$vol" "$tmp" -b 16 "$out"
    rm -f "$tmp"
}

# one LOCALE INDEX TEXT: the clean clip and its eight rooms.
one() {
    local locale="$1" idx="$2" text="$3" dir tmp
    dir="$OUT/$locale/$idx"
    mkdir -p "$dir"
    tmp="$(mktemp -d)"
    espeak-ng -v "$locale" -w "$tmp/raw.wav" -- "$text"
    local S=(-R)
    local F=(-r "$RATE" -c 1 -b 16)
    sox "${S[@]}" "$tmp/raw.wav" "${F[@]}" "$dir/clean.wav" rate -v "$RATE" gain -n -3
    local C="$dir/clean.wav"
    sox "${S[@]}" "$C" "${F[@]}" "$dir/room1.wav" gain -6 pad 0.15 0
    sox "${S[@]}" "$C" "${F[@]}" "$tmp/r2.wav" pad 0.25 0
    add_noise "$tmp/r2.wav" "$dir/room2.wav"
    sox "${S[@]}" "$C" "${F[@]}" "$dir/room3.wav" gain -3 reverb 40 50 60 pad 0.12 0
    sox "${S[@]}" "$C" "${F[@]}" "$dir/room4.wav" echos 0.8 0.8 60 0.35 110 0.2 pad 0.4 0
    sox "${S[@]}" "$C" "${F[@]}" "$dir/room5.wav" speed 1.015 rate "$RATE" pad 0.2 0
    sox "${S[@]}" "$C" "$tmp/r6.wav" rate 8000
    sox "${S[@]}" "$tmp/r6.wav" "${F[@]}" "$dir/room6.wav" rate "$RATE" gain -3 pad 0.3 0
    sox "${S[@]}" "$C" "${F[@]}" "$tmp/r7.wav" pitch -30 rate "$RATE" reverb 30 gain -6 pad 0.35 0
    add_noise "$tmp/r7.wav" "$dir/room7.wav"
    sox "${S[@]}" "$C" "$tmp/r8a.wav" tempo 0.985 echo 0.8 0.8 80 0.3 rate 8000
    sox "${S[@]}" "$tmp/r8a.wav" "${F[@]}" "$tmp/r8.wav" rate "$RATE" pad 0.18 0
    add_noise "$tmp/r8.wav" "$dir/room8.wav"
    rm -rf "$tmp"
}
export -f one add_noise
export OUT RATE SNR_DB

for locale in en ko; do
    n=0
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ -z "$line" ]] && continue
        printf '%s\t%03d\t%s\0' "$locale" "$n" "$line"
        n=$((n + 1))
    done <"$HERE/matcher_utterances_$locale.txt"
done | xargs -0 -P "$JOBS" -I{} bash -c 'IFS=$'"'"'\t'"'"' read -r l i t <<<"$1"; one "$l" "$i" "$t"' _ {}

echo "wrote $(find "$OUT" -name '*.wav' | wc -l) WAV files under $OUT" >&2
