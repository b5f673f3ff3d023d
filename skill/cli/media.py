"""``askfirst media add FILE... | list | remove ID``: adverts and programmes the operator knows.

A capture that matches a registered medium is ambient (reason ``known_media``) even when only one
device heard it: an operator's own campaigns first of all. Only keyed fingerprints are stored
(``speech.acoustic`` for WAV files, ``speech.shingles`` for text files), under the deployment's
broadcast key, which must therefore be the servers' (``ASKFIRST_BROADCAST_KEY``).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from askfirst.core.errors import CoreError
from askfirst.core.media import KnownMedia
from askfirst.skill.errors import SkillError
from askfirst.skill.settings import Settings, load_settings
from askfirst.speech.shingles import text_fingerprint
from askfirst.store.base import Store, open_store
from askfirst.store.errors import StoreError

MAX_MEDIA_SECONDS = 30.0
"""The longest WAV file that can be registered (an advert; register a programme in parts)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``media add|list|remove`` to the ``askfirst`` command line."""
    parser = subparsers.add_parser(
        "media",
        help="register adverts and programmes (fingerprints only): heard, they are ambient",
        description="Known media: a capture matching one is ambient (reason known_media).",
        epilog="Uses ASKFIRST_STORE_URL and ASKFIRST_BROADCAST_KEY (or ASKFIRST_SETTINGS_FILE), "
        "the same as the servers. exit status: 0 done, 1 nothing to remove, 2 unusable input",
    )
    commands = parser.add_subparsers(dest="media_command", metavar="COMMAND", required=True)
    add = commands.add_parser(
        "add", help="register WAV or text files", description="Register WAV or text files."
    )
    add.add_argument("files", nargs="+", type=Path, metavar="FILE", help="*.wav, or UTF-8 text")
    add.add_argument("--name", help="a name for a single file (default: the file name)")
    add.set_defaults(func=lambda args: run(args, sys.stdout, sys.stderr))
    listing = commands.add_parser("list", help="list the registered media")
    listing.set_defaults(func=lambda args: run(args, sys.stdout, sys.stderr))
    remove = commands.add_parser("remove", help="forget a registered medium")
    remove.add_argument("media_id", metavar="ID")
    remove.set_defaults(func=lambda args: run(args, sys.stdout, sys.stderr))


def run(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, settings: Settings | None = None
) -> int:
    """Run one ``media`` command; errors are one line on ``err`` and exit status 2."""
    try:
        settings = settings or load_settings()
        store = open_store(settings.store_url)
    except (SkillError, StoreError) as exc:
        err.write(f"askfirst media: {exc}\n")
        return 2
    try:
        if args.media_command == "add":
            return _add(args, store, _key(settings), out)
        if args.media_command == "list":
            for media in store.known_media():
                kinds = "+".join(
                    k for k, p in (("audio", media.audio_print), ("text", media.text_print)) if p
                )
                out.write(
                    f"{media.id}  {media.added_at:%Y-%m-%d %H:%M}  {kinds:<10} {media.name}\n"
                )
            return 0
        if store.remove_media(args.media_id):
            out.write(f"removed {args.media_id}\n")
            return 0
        err.write(f"askfirst media remove: expected a registered media id, got {args.media_id!r}\n")
        return 1
    except (CoreError, SkillError, StoreError) as exc:
        err.write(f"askfirst media {args.media_command}: {exc}\n")
        return 2
    finally:
        store.close()


def _key(settings: Settings) -> bytes:
    if "broadcast_key" not in settings.model_fields_set:
        raise SkillError(
            "broadcast_key: expected ASKFIRST_BROADCAST_KEY (the servers' key) to be set, got "
            "none; fingerprints under a throw-away key would match nothing",
            code="missing_setting",
        )
    return settings.broadcast_key.get_secret_value().encode()


def _add(args: argparse.Namespace, store: Store, key: bytes, out: TextIO) -> int:
    files: list[Path] = args.files
    if args.name is not None and len(files) != 1:
        raise SkillError(f"--name: expected one FILE, got {len(files)}", code="bad_arguments")
    media = [_medium(path, key=key, name=args.name or path.name) for path in files]
    for medium in media:  # every file is read first: one bad file registers none
        store.add_media(medium)
        out.write(f"added {medium.id}  {medium.name}\n")
    return 0


def _medium(path: Path, *, key: bytes, name: str) -> KnownMedia:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkillError(f"{path}: cannot read: {exc.strerror}", code="unreadable") from None
    now = datetime.now(UTC)
    media_id = uuid.uuid4().hex[:12]
    if data[:4] == b"RIFF":
        from askfirst.speech.acoustic import acoustic_fingerprint
        from askfirst.speech.audio import read_wav

        audio = read_wav(data, max_seconds=MAX_MEDIA_SECONDS)
        prints = acoustic_fingerprint(audio.pcm, audio.sample_rate, key=key)
        if len(prints) == 0:
            raise SkillError(f"{path}: expected audible sound, got silence", code="bad_audio")
        return KnownMedia(id=media_id, name=name, added_at=now, audio_print=prints.to_bytes())
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SkillError(
            f"{path}: expected a WAV file or UTF-8 text, got undecodable bytes", code="bad_media"
        ) from None
    prints_text = text_fingerprint(text, key=key)
    if len(prints_text.words) < 3:
        raise SkillError(
            f"{path}: expected at least three words, got {text[:40]!r}", code="bad_media"
        )
    return KnownMedia(id=media_id, name=name, added_at=now, text_print=prints_text.to_bytes())
