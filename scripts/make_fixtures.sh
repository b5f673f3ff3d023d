#!/usr/bin/env bash
# Regenerates the Korean WAV fixtures in tests/data/ko/ with espeak-ng and sox.
# 16 kHz mono 16-bit PCM, no dither (sox -D), so the bytes are reproducible on one machine.
# Requires: espeak-ng (with the ko voice) and sox.
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/data/ko
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # say NAME TEXT -> $out/NAME.wav (16 kHz mono s16)
  espeak-ng -v ko -s 130 -w "$tmp/$1.raw.wav" "$2"
  sox -D "$tmp/$1.raw.wav" -r 16000 -c 1 -b 16 -e signed-integer "$out/$1.wav"
}

# Open with the wake word "아리아", then a question.
say wake_coffee "아리아, 커피 추천해 줘"
say wake_headphones "아리아, 헤드폰 할인 있어?"
say wake_weather "아리아, 오늘 날씨 어때?"
say wake_music "아리아, 음악 틀어 줘"
# No wake word at all.
say plain_coffee "커피 추천해 줘"
say plain_dinner "저녁에 뭐 먹을까"
say plain_shoes "운동화 할인 있어?"
say plain_weather "오늘 날씨 좋네"
# The wake word mid-sentence (talk about the assistant, not to it).
say mid_wake "어제 내가 아리아 한테 물어봤어"
# One second of digital silence.
sox -D -n -r 16000 -c 1 -b 16 -e signed-integer "$out/silence.wav" trim 0 1.0
# The same clip at other sample rates, and a stereo copy.
sox -D "$out/wake_coffee.wav" -r 8000 "$out/wake_coffee_8k.wav"
sox -D "$out/wake_coffee.wav" -r 44100 "$out/wake_coffee_44k.wav"
sox -D "$out/wake_coffee.wav" -c 2 "$out/wake_coffee_stereo.wav"
du -ch "$out"/*.wav | tail -1
