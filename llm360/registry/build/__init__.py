"""Run directory -> release: hashing, the manifest a run describes, the release folder.

* ``release``: ``build_release`` (``llm360 release build``) and its options and result;
* ``assembly``: a run's records and file digests -> the manifest they describe;
* ``hashing``: streaming sha256 in parallel, its cache, OMS and Merkle digests;
* ``merkle``: Merkle trees over a data chunk's rows, inclusion proofs;
* ``local_key``: the secret of this user that seals the build's caches;
* ``release_dir``: the release folder on disk, its own files and safe replacement.
"""
