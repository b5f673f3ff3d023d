"""Audit checkpoints: a head hash and count kept in a JSON file outside the database."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from askfirst.store.chain import Checkpoint
from askfirst.store.errors import BadValueError, StoreUnavailable

logger = logging.getLogger(__name__)


def write_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write the checkpoint atomically (temp file, fsync, rename) next to ``path``."""
    text = json.dumps(
        {"count": checkpoint.count, "head": checkpoint.head, "at": checkpoint.at.isoformat()},
        sort_keys=True,
    )
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise StoreUnavailable(f"could not write the audit checkpoint {str(path)!r}: {e}") from e
    logger.info(
        "audit checkpoint: %d records, head %s, in %s", checkpoint.count, checkpoint.head, path
    )


def read_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint file; BadValueError says what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise BadValueError(f"expected a readable checkpoint file at {str(path)!r}: {e}") from e
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadValueError(f"expected JSON in checkpoint file {str(path)!r}: {e}") from e
    if not isinstance(obj, dict):
        raise BadValueError(f"expected a JSON object in checkpoint {str(path)!r}, got {obj!r}")
    count, head, at = obj.get("count"), obj.get("head"), obj.get("at")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise BadValueError(f"expected a count >= 0 in checkpoint {str(path)!r}, got {count!r}")
    if not isinstance(head, str) or len(head) != 64:
        raise BadValueError(f"expected a 64-hex head in checkpoint {str(path)!r}, got {head!r}")
    if not isinstance(at, str):
        raise BadValueError(f"expected an ISO time 'at' in checkpoint {str(path)!r}, got {at!r}")
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise BadValueError(
            f"expected an ISO time 'at' in checkpoint {str(path)!r}, got {at!r}"
        ) from None
    return Checkpoint(count=count, head=head, at=when)
