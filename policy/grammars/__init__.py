"""Per-locale hassil grammars of the questions the detector accepts (``<locale>.yaml``)."""
