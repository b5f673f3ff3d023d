"""askfirst: privacy-respecting voice commerce; offers only as the answer to an explicit question.

Layers, lowest first: ``core`` (value types); above it, side by side, ``policy`` (pure
decisions), ``speech`` (audio in, tagged utterances out) and ``store`` (consent, caps, audit
log; it may use policy's values); then ``turn`` (one turn: hear, tag, detect, decide, record)
and ``skill`` (the edges: Alexa, the HTTP device API, Wyoming, the simulator, the command line).
Each imports only layers below it and never a sibling (``tests/test_layering.py`` guards this).
"""
