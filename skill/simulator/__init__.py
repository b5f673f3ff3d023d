"""The local utterance simulator: scenarios, in-process and remote backends, the timeline."""
