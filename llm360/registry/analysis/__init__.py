"""Reading a verified release: lineage, the openness audit, trace, diff and exports.

* ``lineage``: the checkpoint graph (parents, forks, merges) and the data each has seen;
* ``audit``: a grade against the Model Openness Framework, with ``mof`` (its components and
  rules) and ``_spdx`` (the license facts it needs);
* ``trace``: a token sequence -> the training rows that hold it, proved;
* ``diff``: two releases side by side;
* ``exports/``: Croissant, SPDX and CycloneDX documents of a release.
"""
