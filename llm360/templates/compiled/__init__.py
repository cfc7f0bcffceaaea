"""jinja2's compiled Python for each card template, written by ``make templates`` (see
``llm360.registry.cards._render``); generated, never edited by hand."""
