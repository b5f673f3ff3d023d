"""askfirst skill: the Flask app, the Alexa endpoint, the device API and the command line."""
