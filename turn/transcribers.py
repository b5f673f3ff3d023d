"""The transcribers a server process holds: one per locale, loaded once, in the background."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from askfirst.speech.transcriber import Transcriber
from askfirst.turn.errors import TurnError

logger = logging.getLogger(__name__)

Loader = Callable[[Path], Transcriber]


class TranscriberSet:
    """Locale -> transcriber. Models load once per process on a background thread."""

    def __init__(self, transcribers: Mapping[str, Transcriber] | None = None) -> None:
        self._ready: dict[str, Transcriber] = dict(transcribers or {})
        self._pending: dict[str, Path] = {}
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @classmethod
    def loading(cls, model_dirs: Mapping[str, Path], *, loader: Loader) -> TranscriberSet:
        """Start loading every model in ``model_dirs`` in the background and return at once."""
        result = cls()
        result._pending = dict(model_dirs)
        if model_dirs:
            result._thread = threading.Thread(
                target=result._load_all, args=(loader,), name="askfirst-model-loader", daemon=True
            )
            result._thread.start()
        return result

    def _load_all(self, loader: Loader) -> None:
        for locale, path in list(self._pending.items()):
            try:
                transcriber = loader(path)
            except Exception as exc:  # reported through ready and for_locale, not lost
                logger.exception("loading the %s model from %s failed", locale, path)
                with self._lock:
                    self._failed[locale] = f"{type(exc).__name__}: {exc}"
                    del self._pending[locale]
                continue
            logger.info("loaded the %s model from %s", locale, path)
            with self._lock:
                del self._pending[locale]
                if not self._closed:
                    self._ready[locale] = transcriber
                    continue
            transcriber.close()  # closed while it loaded: nobody will use it

    def wait(self, timeout: float | None = None) -> bool:
        """Block until background loading ends; True when every model loaded."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    @property
    def ready(self) -> bool:
        """True once every configured model is loaded (vacuously true with none configured)."""
        with self._lock:
            return not self._pending and not self._failed

    @property
    def locales(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted({*self._ready, *self._pending, *self._failed}))

    def for_locale(self, locale: str) -> Transcriber:
        """The transcriber for ``locale``, or a TurnError saying why there is none."""
        with self._lock:
            if locale in self._ready:
                return self._ready[locale]
            if locale in self._pending:
                raise TurnError(
                    f"the {locale} speech model is still loading; retry shortly",
                    code="model_loading",
                    status=503,
                )
            if locale in self._failed:
                raise TurnError(
                    f"the {locale} speech model failed to load: {self._failed[locale]}",
                    code="model_unavailable",
                    status=503,
                )
            known = sorted(self._ready)
        raise TurnError(
            f"audio in locale {locale!r} cannot be transcribed: expected one of {known!r} "
            "(configure a model with ASKFIRST_VOSK_MODELS), or send text",
            code="no_model_for_locale",
            status=422,
        )

    def close(self) -> None:
        """Close every loaded transcriber; one still loading is closed when it finishes."""
        with self._lock:
            self._closed = True
            for transcriber in self._ready.values():
                transcriber.close()
            self._ready.clear()
