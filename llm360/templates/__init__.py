"""jinja2 templates for the cards (package data, read with importlib.resources)."""
