"""analysis of a release: exports (and, later, lineage, audit, trace, diff)"""
