"""Keyed word-shingle fingerprints of a transcript: two microphones' transcripts of one sound.

Two devices never transcribe one sound identically ("any deals on coffee" / "any deal on
coffee"), so an exact hash of the transcript cannot tell that they heard the same thing. Here a
transcript becomes the set of its words and word pairs (shingles), each keyed with
HMAC-SHA256 under the deployment secret and cut to 64 bits. Two fingerprints are compared by
how many shingles they share: a dropped, added or changed word costs one word and at most two
pairs, while two different questions share few pairs. Only the keyed hashes are kept: without
the key they cannot be recomputed from a guess of the words, and the words are never compared.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import struct
from dataclasses import dataclass

from askfirst.core.capture import CaptureContextError
from askfirst.core.text import normalise

logger = logging.getLogger(__name__)

MIN_KEY_BYTES = 16
MATCH_THRESHOLD = 0.6
"""Two transcripts are the same sound when :func:`similarity` is at least this.

A one-word change in an n-word transcript scores (2n - 4) / (2n - 1): 0.67 at five words,
0.8 at eight; the measured rates are in the README (``bench/matcher_eval.py``)."""
MIN_WORDS = 3
"""Transcripts shorter than this carry too little to match on and match nothing."""
_RECORD = struct.Struct("<Q")
_WORD = b"w\x00"
_PAIR = b"p\x00"


@dataclass(frozen=True, slots=True)
class TextFingerprint:
    """The keyed hashes of a transcript's words and of its adjacent word pairs."""

    words: frozenset[int]
    pairs: frozenset[int]

    def __len__(self) -> int:
        return len(self.words) + len(self.pairs)

    def to_bytes(self) -> bytes:
        """Storage form: word count (8 bytes), then sorted 64-bit words and pairs."""
        parts = [_RECORD.pack(len(self.words))]
        parts += [_RECORD.pack(h) for h in sorted(self.words)]
        parts += [_RECORD.pack(h) for h in sorted(self.pairs)]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> TextFingerprint:
        """Inverse of :meth:`to_bytes`."""
        if len(data) < _RECORD.size or len(data) % _RECORD.size:
            raise CaptureContextError(
                f"text fingerprint: expected a multiple of 8 bytes (at least 8), got {len(data)}"
            )
        values = [v for (v,) in _RECORD.iter_unpack(data)]
        n_words = values[0]
        if n_words > len(values) - 1:
            raise CaptureContextError(
                f"text fingerprint: expected at most {len(values) - 1} words, got {n_words}"
            )
        return cls(frozenset(values[1 : 1 + n_words]), frozenset(values[1 + n_words :]))


def check_key(key: bytes) -> None:
    """Refuse a missing or short secret."""
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        shown = f"{len(key)} bytes" if isinstance(key, bytes) else type(key).__name__
        raise CaptureContextError(
            f"key: expected at least {MIN_KEY_BYTES} bytes of secret, got {shown!r}"
        )


def _keyed(key: bytes, kind: bytes, value: str) -> int:
    digest = hmac.digest(key, kind + value.encode("utf-8"), hashlib.sha256)
    return int.from_bytes(digest[:8], "little")


def text_fingerprint(text: str, *, key: bytes) -> TextFingerprint:
    """The keyed shingles of ``text`` (normalised for case, width, punctuation and spacing)."""
    if not isinstance(text, str):
        raise CaptureContextError(f"text: expected a string, got {type(text).__name__!r}")
    check_key(key)
    tokens = normalise(text).split()
    words = frozenset(_keyed(key, _WORD, t) for t in tokens)
    pairs = frozenset(_keyed(key, _PAIR, f"{a} {b}") for a, b in itertools.pairwise(tokens))
    return TextFingerprint(words=words, pairs=pairs)


def similarity(a: TextFingerprint, b: TextFingerprint) -> float:
    """Shared words and pairs over the larger transcript's words and pairs, in [0, 1].

    Symmetric. Measured against the larger side, so a short transcript contained in a long
    one (one device cut the capture early) is not the same sound unless it is most of it.
    """
    if len(a.words) < MIN_WORDS or len(b.words) < MIN_WORDS:
        return 0.0
    shared = len(a.words & b.words) + len(a.pairs & b.pairs)
    larger = max(len(a.words), len(b.words)) + max(len(a.pairs), len(b.pairs))
    return shared / larger


def containment(part: TextFingerprint, whole: TextFingerprint) -> float:
    """Share of ``part``'s words and pairs found in ``whole``: a capture of part of a known
    advert or programme scores high although the whole is far longer."""
    if len(part.words) < MIN_WORDS:
        return 0.0
    shared = len(part.words & whole.words) + len(part.pairs & whole.pairs)
    return shared / len(part)


def same_text(a: TextFingerprint, b: TextFingerprint) -> bool:
    """True when the two transcripts are two hearings of one sound (see :data:`MATCH_THRESHOLD`)."""
    return similarity(a, b) >= MATCH_THRESHOLD
