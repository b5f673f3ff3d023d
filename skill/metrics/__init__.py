"""Prometheus metrics: what the server decided, how fast, and how its store and speech fared.

Labels carry only bounded, non-personal values (tags, reason codes, rule ids, catalog ids,
route templates, status codes, store operations, locales): never a transcript, a user id or a
device token.
"""

from __future__ import annotations

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Set (by ``askfirst serve``) when several worker processes share their metrics as files.

prometheus_client reads it when first imported, so this package's ``__init__`` never imports
prometheus_client: the master sets the variable before any worker imports it."""
