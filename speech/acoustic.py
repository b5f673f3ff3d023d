"""Keyed acoustic fingerprints of short captures, for broadcast detection and known media.

Method: spectral-peak landmarks (after Wang 2003, "An Industrial-Strength Audio Search
Algorithm"), written from the description, on numpy only.

1. The 16-bit mono PCM is resampled to 8 kHz (FFT band-limiting, any input rate).
2. A short-time spectrum (64 ms Hann window, 16 ms hop) is taken in dB.
3. Peaks are the local maxima of a +-5 frame x +-8 bin neighbourhood between 150 Hz and
   3.6 kHz that lie within ``DYNAMIC_RANGE_DB`` of the loudest bin; the strongest
   ``PEAKS_PER_SECOND`` per second of audio are kept (so gain and moderate noise do not
   change which peaks survive).
4. Each peak is paired with the next ``FAN_OUT`` peaks up to 0.5 s later; the landmark is
   (anchor frequency, target frequency, time gap), quantised on a log-frequency scale so a
   1-2 % pitch change leaves most landmarks unchanged.
5. Every landmark code is keyed with HMAC-SHA256 under the deployment secret and truncated to
   64 bits, and stored with the anchor's frame index. Without the key, a stored fingerprint
   cannot be recomputed from candidate audio, nor tells which sounds it came from.

Matching (:func:`similarity`): common hashes vote for the time offset between the two
captures (a histogram of anchor-time differences); at the best offset, the overlapping span is
cut into ``SEGMENT_FRAMES`` segments and the score is the share of segments, where both captures
have landmarks, that carry at least ``MIN_SEGMENT_VOTES`` offset-consistent matches. This asks
that *every part* of the common span agrees, so two different sentences that share a carrier
phrase ("do you have any deals on coffee" / "... on tea") do not match, while echo, noise,
gain, a different lead-in and slight speed changes do.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from askfirst.speech.errors import SpeechError

INTERNAL_RATE = 8000
"""Every capture is resampled to this rate before analysis (Hz)."""
N_FFT = 512
"""Window length in samples at ``INTERNAL_RATE`` (64 ms)."""
HOP = 128
"""Hop in samples at ``INTERNAL_RATE`` (16 ms): one fingerprint time unit."""
FRAME_SECONDS = HOP / INTERNAL_RATE
MIN_HZ = 150.0
MAX_HZ = 3600.0
PEAK_TIME_RADIUS = 5
"""A peak is the maximum of +-this many frames ..."""
PEAK_FREQ_RADIUS = 8
"""... and +-this many frequency bins (15.6 Hz each)."""
DYNAMIC_RANGE_DB = 50.0
"""Peaks further than this below the loudest bin of the capture are ignored."""
PEAKS_PER_SECOND = 40
FAN_OUT = 6
MAX_PAIR_FRAMES = 32
"""Targets are paired with anchors at most this many frames (0.5 s) later."""
MAX_PAIR_OCTAVES = 1.5
"""... and at most this many octaves above or below."""
RATIO_STEPS_PER_OCTAVE = 24
"""Quantisation of the target/anchor frequency ratio (2.9 % per step)."""
ANCHOR_STEPS_PER_OCTAVE = 6
"""Quantisation of the anchor frequency (12 % per step) ..."""
ANCHOR_GRIDS = 2
"""... on this many grids, offset by a fraction of a step."""
DT_QUANTUM = 2
"""Frames per time-gap step."""

OFFSET_TOLERANCE_FRAMES = 3
"""Matches within this many frames (48 ms) of the best offset count as aligned."""
SEGMENT_FRAMES = 16
"""Coverage is judged on segments of this many frames (256 ms)."""
MIN_SEGMENT_HASHES = 4
"""A segment takes part when both captures have at least this many landmarks in it."""
MIN_SEGMENT_VOTES = 2
"""A segment is covered when at least this many aligned matches are anchored in it."""
MIN_TOTAL_VOTES = 12
"""Fewer aligned matches than this in all is never a match."""

MATCH_THRESHOLD = 0.80
"""Two captures are the same sound when :func:`similarity` is at least this.

Chosen on the evaluation set of ``bench/matcher_eval.py``; the measured rates are in the README.
"""

MIN_KEY_BYTES = 16
MIN_RATE = 8000
MAX_RATE = 48000
MAX_SECONDS = 30.0
"""Longer captures are cut to their first ``MAX_SECONDS`` seconds."""

_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]
_RECORD = struct.Struct("<QH")
_RECORD_DTYPE = np.dtype([("hash", "<u8"), ("frame", "<u2")])


class FingerprintError(SpeechError):
    """The audio, the key or a stored fingerprint cannot be used."""

    code = "bad_fingerprint"


@dataclass(frozen=True)
class AcousticFingerprint:
    """Keyed landmark hashes of one capture, each with its anchor frame (16 ms units).

    ``hashes[i]`` is a keyed 64-bit integer; ``frames[i]`` is when its anchor peak occurred,
    counted from the start of the capture. Nothing else about the audio is kept.
    """

    hashes: tuple[int, ...]
    frames: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.hashes) != len(self.frames):
            raise FingerprintError("hashes and frames must have the same length")

    def __len__(self) -> int:
        return len(self.hashes)

    def to_bytes(self) -> bytes:
        """Compact storage form: 10 bytes per landmark (uint64 hash, uint16 frame)."""
        records = np.empty(len(self.hashes), dtype=_RECORD_DTYPE)
        records["hash"] = self.hashes
        records["frame"] = np.minimum(np.asarray(self.frames, dtype=np.int64), 0xFFFF)
        return records.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> AcousticFingerprint:
        """Inverse of :meth:`to_bytes`."""
        if len(data) % _RECORD.size:
            raise FingerprintError(
                f"acoustic fingerprint: expected a multiple of {_RECORD.size} bytes, "
                f"got {len(data)}"
            )
        records = np.frombuffer(data, dtype=_RECORD_DTYPE)
        return cls(tuple(int(h) for h in records["hash"]), tuple(int(f) for f in records["frame"]))


def _pcm_to_float(pcm: bytes, sample_rate: int) -> _FloatArray:
    if not isinstance(pcm, bytes | bytearray | memoryview):
        raise FingerprintError(f"pcm: expected bytes, got {type(pcm).__name__}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
        raise FingerprintError(f"sample_rate: expected an int, got {sample_rate!r}")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise FingerprintError(
            f"sample_rate: expected {MIN_RATE}..{MAX_RATE} Hz, got {sample_rate}"
        )
    raw = bytes(pcm)
    if len(raw) % 2:
        raw = raw[:-1]
    limit = int(MAX_SECONDS * sample_rate)
    samples = np.frombuffer(raw, dtype="<i2")[:limit]
    return samples.astype(np.float64) / 32768.0


def _fast_length(n: int) -> int:
    """Smallest m >= n whose only prime factors are 2, 3 and 5 (fast FFT sizes)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _resample(x: _FloatArray, sample_rate: int) -> _FloatArray:
    """Band-limit to ``INTERNAL_RATE / 2`` and resample, in the frequency domain.

    The input is zero-padded to a 2-3-5-smooth length so the FFT is fast for any length.
    """
    if sample_rate == INTERNAL_RATE or x.size == 0:
        return x
    n_in = x.size
    n_pad = _fast_length(n_in)
    n_out = max(1, round(n_pad * INTERNAL_RATE / sample_rate))
    spectrum = np.fft.rfft(x, n=n_pad)
    keep = min(n_out // 2 + 1, spectrum.size)
    y = np.fft.irfft(spectrum[:keep], n=n_out) * (n_out / n_pad)
    out: _FloatArray = y[: max(1, round(n_in * INTERNAL_RATE / sample_rate))]
    return out


def _spectrogram_db(x: _FloatArray) -> _FloatArray:
    """Frames x bins magnitude spectrum in dB, 64 ms Hann windows every 16 ms."""
    if x.size < N_FFT:
        x = np.pad(x, (0, N_FFT - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    window = np.hanning(N_FFT)
    mag = np.abs(np.fft.rfft(frames * window, axis=1))
    return 20.0 * np.log10(mag + 1e-9)


def _running_max_rows(s: _FloatArray, r: int) -> _FloatArray:
    """Maximum over +-r rows (doubling trick; -inf beyond the edges)."""
    width = 2 * r + 1
    filler = np.full((r, s.shape[1]), -np.inf)
    g = np.concatenate([filler, s, filler])
    span = 1
    while span * 2 <= width:
        g = np.maximum(g[:-span], g[span:])
        span *= 2
    rest = width - span
    if rest:
        g = np.maximum(g[:-rest], g[rest:])
    return g


def _max_filter(s: _FloatArray, rt: int, rf: int) -> _FloatArray:
    """Separable sliding maximum over +-rt rows and +-rf columns."""
    across = _running_max_rows(np.ascontiguousarray(s.T), rf).T
    return _running_max_rows(np.ascontiguousarray(across), rt)


def _peaks(s: _FloatArray) -> tuple[_IntArray, _IntArray]:
    """(frame, bin) of the kept spectral peaks, ordered by frame then bin."""
    lo = int(np.ceil(MIN_HZ * N_FFT / INTERNAL_RATE))
    hi = int(np.floor(MAX_HZ * N_FFT / INTERNAL_RATE))
    band = s[:, lo : hi + 1]
    if band.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    floor = float(band.max()) - DYNAMIC_RANGE_DB
    is_peak = (band == _max_filter(band, PEAK_TIME_RADIUS, PEAK_FREQ_RADIUS)) & (band > floor)
    t, f = np.nonzero(is_peak)
    budget = max(1, round(PEAKS_PER_SECOND * s.shape[0] * FRAME_SECONDS))
    if t.size > budget:
        strongest = np.argsort(band[t, f], kind="stable")[::-1][:budget]
        keep = np.sort(strongest)
        t, f = t[keep], f[keep]
    return t.astype(np.int64), (f + lo).astype(np.int64)


def _octaves(bins: _IntArray) -> _FloatArray:
    """Frequency of each bin in octaves above ``MIN_HZ``."""
    out: _FloatArray = np.log2(np.maximum(bins, 1) * (INTERNAL_RATE / N_FFT) / MIN_HZ)
    return out


def _landmarks(t: _IntArray, f: _IntArray) -> tuple[_IntArray, _IntArray]:
    """Landmark codes and their anchor frames.

    A landmark pairs an anchor peak with a later target peak. Its code packs the frequency
    *ratio* of the two (pitch-invariant, ``RATIO_STEPS_PER_OCTAVE``), the time gap
    (``DT_QUANTUM`` frames per step) and a coarse anchor frequency
    (``ANCHOR_STEPS_PER_OCTAVE``). The anchor frequency is quantised on two grids half a step
    apart and both codes are emitted, so a pitch change of less than half a step keeps at
    least one of them.
    """
    if t.size < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    octs = _octaves(f)
    dt = t[None, :] - t[:, None]
    ratio = octs[None, :] - octs[:, None]
    ok = (dt > 0) & (dt <= MAX_PAIR_FRAMES) & (np.abs(ratio) <= MAX_PAIR_OCTAVES)
    ok &= np.cumsum(ok, axis=1) <= FAN_OUT
    i, j = np.nonzero(ok)
    rq = np.floor(ratio[i, j] * RATIO_STEPS_PER_OCTAVE + 0.5).astype(np.int64) + 128
    dtq = (dt[i, j] + DT_QUANTUM // 2) // DT_QUANTUM
    body = (rq << 8) | dtq
    grids = [
        (g << 24)
        | (np.floor(octs[i] * ANCHOR_STEPS_PER_OCTAVE + g / 2).astype(np.int64) << 16)
        | body
        for g in range(ANCHOR_GRIDS)
    ]
    codes = np.concatenate(grids).astype(np.int64)
    return codes, np.tile(t[i], ANCHOR_GRIDS)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        shown = f"{len(key)} bytes" if isinstance(key, bytes) else type(key).__name__
        raise FingerprintError(
            f"key: expected at least {MIN_KEY_BYTES} bytes of secret, got {shown!r}"
        )


def acoustic_fingerprint(
    pcm: bytes, sample_rate: int, *, key: bytes, seconds: float | None = None
) -> AcousticFingerprint:
    """Keyed landmark fingerprint of 16-bit little-endian mono PCM at ``sample_rate`` Hz.

    ``seconds`` fingerprints only the first that many seconds: a streaming edge can register
    a capture from its first seconds, before the speaker has finished, and the full capture of
    the same sound on another device still matches it (matching only judges the overlap).
    Silence or a capture too short for two peaks gives an empty fingerprint, which matches
    nothing.
    """
    _check_key(key)
    samples = _pcm_to_float(pcm, sample_rate)
    if seconds is not None:
        if not seconds > 0:
            raise FingerprintError(f"seconds: expected a positive number, got {seconds!r}")
        samples = samples[: int(seconds * sample_rate)]
    x = _resample(samples, sample_rate)
    if x.size == 0 or not np.any(x):
        return AcousticFingerprint((), ())
    t, f = _peaks(_spectrogram_db(x))
    codes, anchors = _landmarks(t, f)
    unique, inverse = np.unique(codes, return_inverse=True)
    keyed = [
        int.from_bytes(hmac.digest(key, int(c).to_bytes(8, "little"), hashlib.sha256)[:8], "little")
        for c in unique
    ]
    hashes = tuple(keyed[k] for k in inverse.tolist())
    return AcousticFingerprint(hashes, tuple(int(a) for a in anchors))


@dataclass(frozen=True)
class MatchDetail:
    """How two fingerprints lined up (for diagnostics and tuning)."""

    offset_frames: int
    """Best anchor-time difference (first minus second), in frames."""
    aligned_votes: int
    """Common hashes within ``OFFSET_TOLERANCE_FRAMES`` of that offset."""
    segments: int
    """Overlapping segments where both captures have landmarks."""
    covered: int
    """Of those, segments with at least ``MIN_SEGMENT_VOTES`` aligned votes."""

    @property
    def score(self) -> float:
        """Covered share of the common segments; 0 without enough evidence."""
        if self.aligned_votes < MIN_TOTAL_VOTES or self.segments == 0:
            return 0.0
        return self.covered / self.segments


_NO_MATCH = MatchDetail(0, 0, 0, 0)


def _as_arrays(fp: AcousticFingerprint) -> tuple[npt.NDArray[np.uint64], _IntArray]:
    return np.array(fp.hashes, dtype=np.uint64), np.array(fp.frames, dtype=np.int64)


def match_detail(a: AcousticFingerprint, b: AcousticFingerprint) -> MatchDetail:
    """Align ``a`` and ``b`` by their common hashes and measure how much of the overlap agrees."""
    if len(a) == 0 or len(b) == 0:
        return _NO_MATCH
    ah, at = _as_arrays(a)
    bh, bt = _as_arrays(b)
    order = np.argsort(bh, kind="stable")
    bh_sorted, bt_sorted = bh[order], bt[order]
    lo = np.searchsorted(bh_sorted, ah, side="left")
    hi = np.searchsorted(bh_sorted, ah, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if total < MIN_TOTAL_VOTES:
        return _NO_MATCH
    a_idx = np.repeat(np.arange(ah.size), counts)
    first = np.cumsum(counts) - counts
    within = np.arange(total) - np.repeat(first, counts)
    b_times = bt_sorted[np.repeat(lo, counts) + within]
    offsets = at[a_idx] - b_times
    base = int(offsets.min())
    hist = np.bincount(offsets - base)
    width = 2 * OFFSET_TOLERANCE_FRAMES + 1
    smoothed = np.convolve(hist, np.ones(width, dtype=np.int64), mode="same")
    best = int(np.argmax(smoothed)) + base
    aligned = np.abs(offsets - best) <= OFFSET_TOLERANCE_FRAMES
    votes = int(aligned.sum())
    if votes < MIN_TOTAL_VOTES:
        return MatchDetail(best, votes, 0, 0)
    # Put both captures on a's clock, then count per segment.
    b_on_a = bt + best
    start = max(int(at.min()), int(b_on_a.min()))
    end = min(int(at.max()), int(b_on_a.max()))
    if end < start:
        return MatchDetail(best, votes, 0, 0)
    n_seg = (end - start) // SEGMENT_FRAMES + 1

    def per_segment(times: _IntArray) -> _IntArray:
        inside = times[(times >= start) & (times <= end)]
        out: _IntArray = np.bincount((inside - start) // SEGMENT_FRAMES, minlength=n_seg)
        return out

    a_count = per_segment(at)
    b_count = per_segment(b_on_a)
    v_count = per_segment(at[a_idx[aligned]])
    active = (a_count >= MIN_SEGMENT_HASHES) & (b_count >= MIN_SEGMENT_HASHES)
    covered = active & (v_count >= MIN_SEGMENT_VOTES)
    return MatchDetail(best, votes, int(active.sum()), int(covered.sum()))


def similarity(a: AcousticFingerprint, b: AcousticFingerprint) -> float:
    """Score in [0, 1]: the same sound scores high whatever the room, lead-in or gain.

    Symmetric up to segment boundaries; compare with :data:`MATCH_THRESHOLD`.
    """
    return match_detail(a, b).score


def same_audio(a: AcousticFingerprint, b: AcousticFingerprint) -> bool:
    """True when ``a`` and ``b`` are one sound (see :data:`MATCH_THRESHOLD`)."""
    return similarity(a, b) >= MATCH_THRESHOLD
