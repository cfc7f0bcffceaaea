"""Verification: one verifier over several sources, the trust policy, opening a release.

* ``verifier``: manifest -> ``Report`` (``verify_release``, ``verify``): the signature chain, then
  every file against what was signed, then the manifest against the run's records;
* ``sources``: where a release's files come from (``ArtifactSource``, ``LocalSource``);
* ``policy``: ``TrustPolicy``, what a verifier trusts and lets pass;
* ``open``: ``open_release``, what a command's RELEASE argument (folder, manifest,
  ``hub:ORG/NAME[@REV]``) opens;
* ``parent``: a derived release's link to its parent, checked and followed.
"""
