"""Audit checkpoints: a history of keyed files, outside the database, one per checkpoint.

Each file holds every shard's head (seq, hash) and its time, and an HMAC of that text under the
audit key (kept outside the database too): a hand-written or altered checkpoint is refused. A
file is created once (``O_EXCL``) and never overwritten, so the directory is the log's history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from datetime import datetime
from pathlib import Path

from askfirst.store.chain import Checkpoint, canonical
from askfirst.store.errors import BadValueError, StoreUnavailable

logger = logging.getLogger(__name__)

PREFIX = "checkpoint-"
SUFFIX = ".json"


def _body(checkpoint: Checkpoint) -> str:
    heads = {str(shard): [seq, hash_] for shard, (seq, hash_) in sorted(checkpoint.heads.items())}
    return canonical({"at": checkpoint.at.isoformat(), "heads": heads, "version": 2})


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def write_checkpoint(directory: Path, checkpoint: Checkpoint, *, key: bytes) -> Path:
    """Add a checkpoint file to ``directory`` (created if needed); never replaces one."""
    body = _body(checkpoint)
    text = json.dumps({"body": json.loads(body), "mac": _mac(key, body)}, sort_keys=True)
    stamp = checkpoint.at.strftime("%Y%m%dT%H%M%S%fZ")
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            path = directory / f"{PREFIX}{stamp}-{checkpoint.count:012d}-{n}{SUFFIX}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            break
        else:
            raise OSError(f"1000 checkpoints named {stamp!r} already exist")
    except OSError as e:
        raise StoreUnavailable(
            f"could not write an audit checkpoint into {str(directory)!r}: {e}"
        ) from e
    logger.info("audit checkpoint: %d records in %s", checkpoint.count, path)
    return path


def read_checkpoint(path: Path, *, key: bytes) -> Checkpoint:
    """Read one checkpoint file; BadValueError says what is wrong with it (a MAC that does not
    match the audit key: hand-written or altered)."""
    path = Path(path)
    where = repr(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise BadValueError(f"expected a readable checkpoint file at {where}: {e}") from e
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadValueError(f"expected JSON in checkpoint file {where}: {e}") from e
    if not isinstance(obj, dict) or not isinstance(obj.get("body"), dict):
        raise BadValueError(
            f"expected a keyed checkpoint {{'body': ..., 'mac': ...}} in {where}, got {text[:80]!r}"
        )
    body = canonical(obj["body"])
    mac = obj.get("mac")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(key, body)):
        raise BadValueError(
            f"checkpoint {where} refused: its MAC does not match the audit key "
            "(hand-written, altered, or made with another key)"
        )
    fields = obj["body"]
    heads: dict[int, tuple[int, str]] = {}
    raw = fields.get("heads")
    if not isinstance(raw, dict):
        raise BadValueError(f"expected 'heads' in checkpoint {where}, got {raw!r}")
    for shard, head in raw.items():
        if (
            not shard.isdigit()
            or not isinstance(head, list)
            or len(head) != 2
            or not isinstance(head[0], int)
            or not isinstance(head[1], str)
        ):
            raise BadValueError(f"expected shard: [seq, hash] in {where}, got {shard!r}: {head!r}")
        heads[int(shard)] = (head[0], head[1])
    try:
        at = datetime.fromisoformat(str(fields.get("at")))
    except ValueError:
        raise BadValueError(
            f"expected an ISO time 'at' in {where}, got {fields.get('at')!r}"
        ) from None
    return Checkpoint(heads=heads, at=at)


def read_checkpoints(directory: Path, *, key: bytes) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint of ``directory`` that its MAC vouches for, and a problem per refused
    file (or file in the directory that is not a checkpoint)."""
    found: list[Checkpoint] = []
    problems: list[str] = []
    directory = Path(directory)
    for path in sorted(Path(directory).iterdir()) if directory.is_dir() else []:
        if path.name.startswith("."):
            continue
        if not (path.name.startswith(PREFIX) and path.name.endswith(SUFFIX)):
            problems.append(f"checkpoint directory holds {path.name!r}, not a checkpoint file")
            continue
        try:
            found.append(read_checkpoint(path, key=key))
        except BadValueError as e:
            problems.append(e.message)
    if not directory.is_dir():
        problems.append(f"expected a checkpoint directory, got {str(directory)!r}")
    return found, problems


def latest_count(directory: Path) -> int:
    """The record count in the newest checkpoint file's name (0 when there is none); used only
    to skip a redundant automatic checkpoint, never to verify."""
    best = 0
    if not Path(directory).is_dir():
        return 0
    for path in Path(directory).iterdir():
        parts = path.name.removesuffix(SUFFIX).split("-")
        if path.name.startswith(PREFIX) and len(parts) >= 3 and parts[2].isdigit():
            best = max(best, int(parts[2]))
    return best
