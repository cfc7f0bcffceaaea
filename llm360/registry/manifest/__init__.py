"""The release manifest: frozen dataclasses, canonical JSON, schemas and findings.

* ``models``: the manifest v1 as frozen, keyword-only dataclasses;
* ``serialize``: canonical JSON (RFC 8785) in and out, the only place dicts exist;
* ``schema``: the JSON Schemas in ``llm360/schemas`` and validation against them;
* ``problems``: ``Problem``, one shape for every finding;
* ``benchmark_catalog``: the benchmarks the cards report, as each results format names them.
"""
