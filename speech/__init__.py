"""askfirst speech: offline transcription and prompted/ambient tagging."""
