"""The HTTP edge: the Flask app factory, the device API routes, JSON errors, OpenAPI, gunicorn."""
