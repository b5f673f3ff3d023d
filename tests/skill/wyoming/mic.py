"""A microphone stand-in for wyoming-satellite's ``--mic-command``: a WAV's 16 kHz 16-bit mono
PCM on stdout in real time, over and over with 0.3 s of silence between, until killed."""

from __future__ import annotations

import sys
import time
import wave

CHUNK = 1024


def main(path: str) -> None:
    with wave.open(path, "rb") as wav:
        pcm = wav.readframes(wav.getnframes()) + b"\0" * (2 * 4800)
    out = sys.stdout.buffer
    began = time.monotonic()
    sent = 0
    while True:
        for i in range(0, len(pcm), 2 * CHUNK):
            out.write(pcm[i : i + 2 * CHUNK])
            out.flush()
            sent += CHUNK
            time.sleep(max(0.0, began + sent / 16000 - time.monotonic()))


if __name__ == "__main__":
    main(sys.argv[1])
