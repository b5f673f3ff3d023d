"""askfirst as a Wyoming speech-to-text and conversation (handle) service for Home Assistant."""
