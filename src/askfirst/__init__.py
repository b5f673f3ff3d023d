"""askfirst: privacy-respecting voice commerce; offers only as the answer to an explicit question.

Layers, lowest first (each may import only those below it; tests/test_layering.py guards this):
``core`` (value types), ``policy`` (pure decisions), ``speech`` (audio in, tagged utterances out),
``store`` (consent, caps, audit log), ``turn`` (one turn: hear, tag, detect, decide, record) and
``skill`` (the edges: Alexa, the HTTP device API, the simulator, the command line).
"""
