"""The Vosk transcriber: the only module that imports ``vosk``.

* One ``vosk.Model`` per model directory per process (a module-level cache keyed by resolved
  path), shared by every transcriber and thread. Never ``Model(lang=...)``: it downloads.
* Warm ``KaldiRecognizer`` s are pooled per sample rate; a stream checks one out and always
  finishes it (``FinalResult`` then ``Reset``) before it goes back.
* Grammar recognizers (wake-word spotting) are separate objects made with their grammar and
  cached per (rate, grammar); ``SetGrammar`` is never called, so the SIGABRT Vosk raises for a
  grammar change mid-utterance cannot happen.
* Audio is fed in fixed 0.2 s blocks aligned on the utterance start, whatever the caller's
  chunking, so Vosk's endpointer fires at the same places and a stream's transcript equals the
  batch transcript of the same audio. Utterances end when the caller says the audio stopped.
* Decoding happens in the calling thread; Vosk releases the GIL, so threads scale.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import vosk

from askfirst.speech.audio import DEFAULT_MAX_SECONDS, Audio, check_sample_rate
from askfirst.speech.errors import AudioError, ModelNotFoundError, SpeechError
from askfirst.speech.pool import PoolStats, RecognizerPool
from askfirst.speech.transcriber import Transcriber, Transcript, TranscriptStream, Word

logger = logging.getLogger(__name__)

vosk.SetLogLevel(-1)

BLOCK_SECONDS = 0.2
MAX_ALTERNATIVES = 20
UNK_TOKENS = ("[unk]", "<UNK>")

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


def shared_model(model_dir: str | Path) -> Any:
    """The process-wide ``vosk.Model`` for ``model_dir``, loaded on first use."""
    path = Path(model_dir).expanduser().resolve()
    with _models_lock:
        model = _models.get(path)
        if model is None:
            if not (path / "am").is_dir() or not (path / "conf").is_dir():
                raise ModelNotFoundError(
                    f"expected a Vosk model directory with am/ and conf/, got {str(path)!r};"
                    " run `askfirst model list` to see installed models"
                )
            logger.info("loading Vosk model %s", path)
            try:
                model = vosk.Model(str(path))
            except Exception as error:  # vosk raises a bare Exception
                raise ModelNotFoundError(
                    f"expected a loadable Vosk model at {str(path)!r}, got: {error}"
                ) from error
            _models[path] = model
        return model


def loaded_model_count() -> int:
    """How many models this process holds (for tests and the benchmark)."""
    with _models_lock:
        return len(_models)


class _Slot:
    """A recognizer and how many samples it has consumed since it was made."""

    __slots__ = ("rec", "samples")

    def __init__(self, rec: Any) -> None:
        self.rec = rec
        self.samples = 0


# A pool key: ("full", rate, alternatives) or ("grammar", rate, phrases).
_Key = tuple[str, int, Any]


class VoskTranscriber(Transcriber):
    """Transcribes with one shared Vosk model and a pool of warm recognizers."""

    def __init__(
        self,
        model_dir: str | Path,
        *,
        pool_size: int | None = None,
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        if not (isinstance(max_seconds, int | float) and math.isfinite(max_seconds)) or (
            max_seconds <= 0
        ):
            raise SpeechError(f"expected max_seconds > 0, got {max_seconds!r}", code="bad_limit")
        self.model_dir = Path(model_dir).expanduser().resolve()
        self.max_seconds = float(max_seconds)
        self._model = shared_model(self.model_dir)
        self.unk = next((t for t in UNK_TOKENS if self._model.vosk_model_find_word(t) >= 0), None)
        self.supports_grammar = (self.model_dir / "graph" / "HCLr.fst").exists()
        size = pool_size if pool_size is not None else (os.cpu_count() or 1)
        self._pool: RecognizerPool[_Key, _Slot] = RecognizerPool(self._make, size=size)
        self._grammars: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._grammar_lock = threading.Lock()
        self._closed = False

    def _make(self, key: _Key) -> _Slot:
        kind, rate, extra = key
        try:
            if kind == "grammar":
                grammar = [*extra, *([self.unk] if self.unk else [])]
                rec = vosk.KaldiRecognizer(
                    self._model, rate, json.dumps(grammar, ensure_ascii=False)
                )
            else:
                rec = vosk.KaldiRecognizer(self._model, rate)
                if extra:
                    rec.SetMaxAlternatives(extra)
            rec.SetWords(True)
        except Exception as error:  # vosk raises a bare Exception
            raise SpeechError(
                f"expected Vosk to create a recognizer at {rate!r} Hz, got: {error}",
                code="engine_error",
            ) from error
        return _Slot(rec)

    @property
    def ready(self) -> bool:
        return not self._closed

    @property
    def pool_size(self) -> int:
        return self._pool.size

    def pool_stats(self) -> PoolStats:
        return self._pool.stats()

    def close(self) -> None:
        self._closed = True
        self._pool.close()

    def stream(self, *, sample_rate: int) -> TranscriptStream:
        check_sample_rate(sample_rate)
        return _VoskStream(self, ("full", sample_rate, 0), sample_rate)

    def transcribe(self, audio: Audio, *, alternatives: int = 0) -> Transcript:
        _check_audio(audio)
        if isinstance(alternatives, bool) or not isinstance(alternatives, int):
            raise SpeechError(
                f"expected an int of alternatives, got {alternatives!r}", code="bad_request"
            )
        if not 0 <= alternatives <= MAX_ALTERNATIVES:
            raise SpeechError(
                f"expected 0..{MAX_ALTERNATIVES} alternatives, got {alternatives!r}",
                code="bad_request",
            )
        with _VoskStream(self, ("full", audio.sample_rate, 0), audio.sample_rate) as stream:
            stream.feed(audio.pcm)
            best = stream.finish()
        if not alternatives:
            return best
        key: _Key = ("full", audio.sample_rate, alternatives)
        with _VoskStream(self, key, audio.sample_rate) as stream:
            stream.feed(audio.pcm)
            texts = stream.finish_alternatives()
        return Transcript(text=best.text, words=best.words, alternatives=texts)

    def spot(self, audio: Audio, *, phrases: Sequence[str], seconds: float = 2.0) -> Transcript:
        _check_audio(audio)
        grammar = self._grammar(phrases)
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
            raise SpeechError(f"expected seconds > 0, got {seconds!r}", code="bad_request")
        head = audio.head(seconds)
        if self.supports_grammar:
            key: _Key = ("grammar", audio.sample_rate, grammar)
        else:
            logger.warning(
                "model %s has no runtime graph; spotting filters a full transcript", self.model_dir
            )
            key = ("full", audio.sample_rate, 0)
        with _VoskStream(self, key, audio.sample_rate) as stream:
            stream.feed(head.pcm)
            heard = stream.finish()
        allowed = {w for phrase in grammar for w in phrase.split()}
        unk = self.unk or "[unk]"
        words = tuple(
            w if w.text in allowed else Word(unk, w.start, w.end, w.conf) for w in heard.words
        )
        return Transcript(text=" ".join(w.text for w in words), words=words)

    def warm(self, audio: Audio) -> None:
        """Decode ``audio`` on every pooled recognizer of its rate (fills the pool warm)."""
        _check_audio(audio)
        key: _Key = ("full", audio.sample_rate, 0)
        streams = [_VoskStream(self, key, audio.sample_rate) for _ in range(self._pool.size)]
        for stream in streams:
            with stream:
                stream.feed(audio.pcm)
                stream.finish()

    def _grammar(self, phrases: Sequence[str]) -> tuple[str, ...]:
        if isinstance(phrases, list | tuple):
            cached = self._grammars.get(tuple(phrases))
            if cached is not None:
                return cached
        grammar = self._build_grammar(phrases)
        with self._grammar_lock:
            if len(self._grammars) >= 64:
                self._grammars.clear()
            self._grammars[tuple(phrases)] = grammar
        return grammar

    def _build_grammar(self, phrases: Sequence[str]) -> tuple[str, ...]:
        if isinstance(phrases, str) or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise SpeechError(
                f"expected a sequence of non-empty phrases, got {phrases!r}", code="bad_request"
            )
        known: list[str] = []
        for phrase in dict.fromkeys(" ".join(p.split()) for p in phrases):
            missing = [w for w in phrase.split() if self._model.vosk_model_find_word(w) < 0]
            if missing:
                logger.warning(
                    "phrase %r left out of the grammar: %r not in the vocabulary", phrase, missing
                )
            else:
                known.append(phrase)
        if not known:
            raise SpeechError(
                "expected at least one phrase in the model's vocabulary,"
                f" got none of {list(phrases)!r}",
                code="phrase_not_in_vocabulary",
            )
        return tuple(known)


def _relative(seconds: float, base: float) -> float:
    """A Vosk time (seconds since the recognizer was made) relative to the utterance start.

    Vosk prints 6 decimals of an absolute time; after subtracting the base only millisecond
    precision is meaningful, and rounding to it makes reused recognizers agree with fresh ones.
    """
    return round(max(0.0, seconds - base), 3)


def _check_audio(audio: Audio) -> None:
    if not isinstance(audio, Audio):
        raise AudioError(f"expected an Audio value, got {type(audio).__name__!r}", code="not_audio")


class _VoskStream(TranscriptStream):
    """One utterance on a checked-out recognizer."""

    def __init__(self, engine: VoskTranscriber, key: _Key, rate: int) -> None:
        self._engine = engine
        self._key = key
        self._rate = rate
        self._block = 2 * int(rate * BLOCK_SECONDS)
        self._limit = 2 * int(rate * engine.max_seconds)
        self._slot: _Slot | None = engine._pool.acquire(key)
        self._base = self._slot.samples / rate
        self._pending = bytearray()
        self._fed = 0
        self._accepted = 0
        self._segments: list[dict[str, Any]] = []
        self._partial = ""
        self._lock = threading.Lock()

    def __enter__(self) -> _VoskStream:
        return self

    def feed(self, chunk: bytes) -> str:
        with self._lock:
            slot = self._live()
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise AudioError(
                    f"expected PCM bytes, got {type(chunk).__name__!r}", code="not_bytes"
                )
            if len(chunk) % 2:
                raise AudioError(
                    f"expected an even number of bytes of 16-bit PCM, got {len(chunk)!r}",
                    code="odd_byte_count",
                )
            if self._fed + len(chunk) > self._limit:
                raise AudioError(
                    f"expected at most {self._engine.max_seconds!r} s of audio,"
                    f" got {(self._fed + len(chunk)) / (2 * self._rate):.3f} s",
                    code="audio_too_long",
                )
            self._fed += len(chunk)
            self._pending += chunk
            done = 0
            while len(self._pending) - done >= self._block:
                self._accept(slot, bytes(self._pending[done : done + self._block]))
                done += self._block
            if done:
                del self._pending[:done]
                partial = json.loads(slot.rec.PartialResult()).get("partial", "")
                self._partial = " ".join(t for t in (*self._texts(), partial) if t)
            return self._partial

    def _accept(self, slot: _Slot, block: bytes) -> None:
        self._accepted += len(block)
        if slot.rec.AcceptWaveform(block):
            self._segments.append(json.loads(slot.rec.Result()))

    def _texts(self) -> list[str]:
        return [s["text"] for s in self._segments if s.get("text")]

    def _drain(self) -> _Slot:
        slot = self._live()
        if self._pending:
            self._accept(slot, bytes(self._pending))
            self._pending.clear()
        self._segments.append(json.loads(slot.rec.FinalResult()))
        return slot

    def finish(self) -> Transcript:
        with self._lock:
            slot = self._drain()
            words = tuple(
                Word(
                    text=w["word"],
                    start=_relative(w["start"], self._base),
                    end=_relative(w["end"], self._base),
                    conf=float(w.get("conf", 1.0)),
                )
                for segment in self._segments
                for w in segment.get("result", ())
            )
            text = " ".join(self._texts())
            self._give_back(slot)
            return Transcript(text=text, words=words)

    def finish_alternatives(self) -> tuple[str, ...]:
        """Finish an N-best stream: the i-th alternative of every segment, joined."""
        with self._lock:
            slot = self._drain()
            per_segment = [
                [a.get("text", "") for a in s.get("alternatives", ())] for s in self._segments
            ]
            self._give_back(slot)
        per_segment = [alts for alts in per_segment if alts and any(alts)]
        count = max((len(alts) for alts in per_segment), default=0)
        texts = (
            " ".join(t for t in (alts[min(i, len(alts) - 1)] for alts in per_segment) if t)
            for i in range(count)
        )
        return tuple(dict.fromkeys(t for t in texts if t))

    def close(self) -> None:
        with self._lock:
            if self._slot is None:
                return
            slot = self._slot
            try:
                slot.rec.FinalResult()
            finally:
                self._give_back(slot)

    def _live(self) -> _Slot:
        if self._slot is None:
            raise SpeechError(
                "expected an open stream, got one already finished or closed", code="stream_closed"
            )
        return self._slot

    def _give_back(self, slot: _Slot) -> None:
        self._slot = None
        slot.samples += self._accepted // 2
        reusable = True
        try:
            slot.rec.Reset()
        except Exception:  # vosk raises a bare Exception; never reuse a broken recognizer
            logger.exception("Vosk recognizer failed to reset; dropping it")
            reusable = False
        self._engine._pool.release(self._key, slot, reusable=reusable)
