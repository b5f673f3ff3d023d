"""Per-locale speech data: wake words, spotting phrases, addressing and reported-speech cues."""
