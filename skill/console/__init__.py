"""The operator console at ``/console``: turns, one turn's decision, the audit log, a playground.

Server-rendered pages (Flask blueprint, Jinja2 templates, one stylesheet served by the app):
no JavaScript, nothing loaded from anywhere else. Registered only when
``ASKFIRST_CONSOLE_TOKENS`` names operator tokens.
"""
