"""askfirst turn: one turn end to end (hear, tag, detect, decide, record); no web framework."""
