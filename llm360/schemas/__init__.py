"""JSON Schemas (Draft 2020-12) for the run directory and the release manifest."""
