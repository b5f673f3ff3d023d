"""askfirst store: consent, caps, listening windows and the tamper-evident audit log."""
