"""Per-locale detector data: veto words, hedges, clause cues (``<locale>.toml``) and tests."""
