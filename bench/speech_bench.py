"""Speech benchmark: our Vosk transcriber against a bare Vosk loop, on the same audio, one run.

    .venv/bin/python bench/speech_bench.py [--model DIR] [--rounds N]

Prints a table: transcription overhead vs bare Vosk (target <= 10%), end-of-audio to final
result with the warm pool vs a fresh recognizer (target p50 <= 100 ms, p99 <= 250 ms), two
concurrent streams vs one (target >= 1.8x on 2 cores), and resident memory.
This script imports vosk directly for the baseline; the package itself only does so in
speech/vosk_engine.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import vosk

from askfirst.speech.audio import Audio, read_wav
from askfirst.speech.models import find_model
from askfirst.speech.vosk_engine import BLOCK_SECONDS, VoskTranscriber, loaded_model_count

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ko"
CLIPS = (
    *("wake_coffee", "wake_headphones", "wake_weather", "wake_music", "plain_coffee"),
    *("plain_dinner", "plain_shoes", "plain_weather", "mid_wake"),
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bare_decode(rec: vosk.KaldiRecognizer, audio: Audio) -> str:
    """The baseline: the same 0.2 s blocks into a plain recognizer, then FinalResult/Reset."""
    block = 2 * int(audio.sample_rate * BLOCK_SECONDS)
    for i in range(0, len(audio.pcm), block):
        rec.AcceptWaveform(audio.pcm[i : i + block])
    text: str = json.loads(rec.FinalResult())["text"]
    rec.Reset()
    return text


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model dir (default: Korean)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model_dir = args.model or find_model("ko")
    audios = [read_wav((DATA / f"{name}.wav").read_bytes()) for name in CLIPS]
    seconds = sum(a.duration for a in audios)
    rows: list[tuple[str, str, str]] = []

    rss_start = rss_mb()
    engine = VoskTranscriber(model_dir, pool_size=2)
    rss_model = rss_mb()
    # Warm-up: every recognizer involved sees every clip once.
    engine.warm(Audio(b"".join(a.pcm for a in audios), 16000))
    for audio in audios:
        engine.transcribe(audio)
    rss_pool = rss_mb()
    model = vosk.Model(str(model_dir))  # the baseline's own model, after our RSS readings
    bare = vosk.KaldiRecognizer(model, 16000)
    bare.SetWords(True)
    for audio in audios:
        bare_decode(bare, audio)

    # 1. Overhead: interleaved rounds, so machine load hits both sides alike.
    ours_t: list[float] = []
    bare_t: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for audio in audios:
            bare_decode(bare, audio)
        bare_t.append(time.perf_counter() - start)
        start = time.perf_counter()
        for audio in audios:
            engine.transcribe(audio)
        ours_t.append(time.perf_counter() - start)
    ours, base = min(ours_t), min(bare_t)
    rows.append(("bare Vosk loop, RTF", f"{base / seconds:.3f}", "baseline"))
    rows.append(
        (
            "our transcriber, RTF",
            f"{ours / seconds:.3f}",
            f"overhead {ours / base - 1:+.1%} (<= +10%)",
        )
    )

    # 2. End of audio -> final transcript.
    warm_ms: list[float] = []
    for _ in range(args.rounds):
        for audio in audios:
            with engine.stream(sample_rate=16000) as stream:
                stream.feed(audio.pcm)
                start = time.perf_counter()
                stream.finish()
                warm_ms.append(1000 * (time.perf_counter() - start))
    fresh_ms: list[float] = []
    for audio in audios[:4]:
        rec = vosk.KaldiRecognizer(model, 16000)
        rec.SetWords(True)
        block = 2 * int(16000 * BLOCK_SECONDS)
        for i in range(0, len(audio.pcm), block):
            rec.AcceptWaveform(audio.pcm[i : i + block])
        start = time.perf_counter()
        rec.FinalResult()
        fresh_ms.append(1000 * (time.perf_counter() - start))
    p50, p99 = statistics.median(warm_ms), percentile(warm_ms, 0.99)
    rows.append(("final latency, warm pool p50", f"{p50:.0f} ms", "target <= 100 ms"))
    rows.append(
        ("final latency, warm pool p99", f"{p99:.0f} ms", f"target <= 250 ms (n={len(warm_ms)})")
    )
    rows.append(
        (
            "final latency, fresh recognizer p50",
            f"{statistics.median(fresh_ms):.0f} ms",
            f"n={len(fresh_ms)}",
        )
    )

    # 3. Throughput: one stream vs two concurrent streams (decoding in the calling threads).
    def decode_all(_: int) -> None:
        for audio in audios:
            engine.transcribe(audio)

    one: list[float] = []
    two: list[float] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(args.rounds):
            start = time.perf_counter()
            decode_all(0)
            one.append(time.perf_counter() - start)
            start = time.perf_counter()
            list(pool.map(decode_all, (0, 1)))
            two.append(time.perf_counter() - start)
    speedup = 2 * min(one) / min(two)
    rows.append(("1 stream throughput", f"{seconds / min(one):.1f} audio-s/s", "baseline"))
    rows.append(
        (
            "2 concurrent streams",
            f"{2 * seconds / min(two):.1f} audio-s/s",
            f"{speedup:.2f}x (>= 1.8x, {os.cpu_count()} cores)",
        )
    )

    # 4. Memory.
    second = VoskTranscriber(model_dir, pool_size=2)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(second.transcribe, audios[0]).result()
    rows.append(("RSS before model", f"{rss_start:.0f} MB", ""))
    rows.append(("RSS model loaded", f"{rss_model:.0f} MB", f"+{rss_model - rss_start:.0f} MB"))
    rows.append(("RSS pool full (2 warm)", f"{rss_pool:.0f} MB", f"+{rss_pool - rss_model:.0f} MB"))
    rows.append(
        ("models held after a 2nd transcriber/thread", str(loaded_model_count()), "expected 1")
    )
    second.close()
    engine.close()

    width = max(len(r[0]) for r in rows)
    print(
        f"speech benchmark: {model_dir} | {len(audios)} clips,"
        f" {seconds:.1f} s audio, {args.rounds} rounds"
    )
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>18}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
