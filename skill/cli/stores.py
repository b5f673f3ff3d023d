"""Which store a maintenance command works on, and opening it without creating one by mistake."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from askfirst.store.base import DEFAULT_RETENTION, open_store
from askfirst.store.interface import Store

DEFAULT_STORE_URL = "sqlite:///askfirst.db"
STORE_ENV = "ASKFIRST_STORE_URL"


@dataclass(frozen=True)
class StoreChoice:
    """A store URL and where it came from (an option, the environment or the default)."""

    url: str
    source: str


class MissingStore(Exception):  # noqa: N818 - reads as what it is
    """The store a command should read does not exist; the message says where it looked."""


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store URL``; without it, ``ASKFIRST_STORE_URL``, else ``sqlite:///askfirst.db``."""
    parser.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help=f"sqlite:///FILE or postgresql://... (default: {STORE_ENV}, else {DEFAULT_STORE_URL})",
    )


def chosen_store(args: argparse.Namespace) -> StoreChoice:
    """The store named by ``--store``, else the environment, else the default."""
    if getattr(args, "store", None):
        return StoreChoice(str(args.store), "--store")
    env = os.environ.get(STORE_ENV)
    if env:
        return StoreChoice(env, STORE_ENV)
    return StoreChoice(DEFAULT_STORE_URL, f"the default, as neither --store nor {STORE_ENV} is set")


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL; None for other back ends (and unparsable URLs)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    return None if database in ("", ":memory:") else Path(database)


def open_existing(
    choice: StoreChoice,
    *,
    read_only: bool,
    audit_key: bytes | None = None,
    retention: timedelta = DEFAULT_RETENTION,
) -> Store:
    """Open a store that must already exist: a mistyped path is an error, never a new database.

    ``read_only`` stores are not migrated and refuse writes (``audit verify`` checks what is
    there and changes nothing).
    """
    file = sqlite_file(choice.url)
    if file is not None and not file.is_file():
        raise MissingStore(
            f"no store at {str(file.resolve())!r} ({choice.url} from {choice.source}): expected "
            f"an existing askfirst database; check the path, or pass --store / set {STORE_ENV}"
        )
    return open_store(choice.url, audit_key=audit_key, retention=retention, read_only=read_only)
