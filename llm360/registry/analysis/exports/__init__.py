"""A release in the formats other tools read: Croissant 1.1 for the pretraining data, SPDX
3.0.1 (AI and Dataset profiles) and a CycloneDX 1.6 ML-BOM for the whole release.

Each document is built from the signed manifest (and the data and eval records it lists) and
written as sorted-key JSON, the same bytes for the same release: ``release build`` writes all
three into the release (``write_exports``; listed in ``release-files.json``, so signed) and
``llm360 export`` (``export_release``) writes one of a release it has verified first. One module
per format (``_croissant``, ``_spdx``, ``_cyclonedx``); what they share is in ``_common``.
Nothing here imports the formats' own libraries: they validate the documents in the tests.
"""

from __future__ import annotations

from llm360.registry.analysis.exports._common import FILES, FORMATS, ReleaseFacts, release_facts
from llm360.registry.analysis.exports._export import (
                                                      ExportResult,
                                                      export_release,
                                                      facts_of_release,
                                                      render,
                                                      render_all,
                                                      write_export,
)
from llm360.registry.analysis.exports._step import write_exports

__all__ = ["FILES", "FORMATS", "ExportResult", "ReleaseFacts", "export_release",
           "facts_of_release", "release_facts", "render", "render_all", "write_export",
           "write_exports"]
