"""askfirst skill: the edges (Alexa, the HTTP device API, the simulator, the command line)."""
