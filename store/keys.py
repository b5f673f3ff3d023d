"""The audit key: a secret kept outside the database that keys record MACs and checkpoints."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from askfirst.store.errors import BadValueError

logger = logging.getLogger(__name__)

MIN_KEY_BYTES = 16


def read_audit_key(path: Path) -> bytes:
    """The key in ``path`` (its bytes, surrounding whitespace dropped); BadValueError when the
    file is unreadable or holds fewer than ``MIN_KEY_BYTES`` bytes."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as e:
        raise BadValueError(f"audit key: expected a readable key file at {str(path)!r}: {e}") from e
    if len(key) < MIN_KEY_BYTES:
        raise BadValueError(
            f"audit key: expected at least {MIN_KEY_BYTES} bytes in {str(path)!r}, got {len(key)}"
        )
    return key


def new_audit_key(path: Path) -> None:
    """Create ``path`` (mode 0600, never replacing a file) holding 32 random bytes as hex."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise BadValueError(
            f"audit key: expected a new file, got an existing {str(path)!r} (never replaced)"
        ) from None
    except OSError as e:
        raise BadValueError(f"audit key: cannot create {str(path)!r}: {e}") from e
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")
    logger.info("audit key written to %s", path)
