"""askfirst core: value types every layer shares (capture, tag, windows, peer captures)."""
