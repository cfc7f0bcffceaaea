"""The run-directory contract (v1): what ``llm360 train``, a ``RunWriter`` or an import writes
into a run directory, read back as the same typed records, and checked.

* ``records``, ``data_records``, ``derived``, ``benchmarks`` (and their base ``_record``): the run's
  records as frozen dataclasses; ``hf_metrics``: which Trainer log fields are results;
* ``reader``: ``read_run``, every record of a run parsed and validated;
* ``formats``, ``chunks``, ``safetensors_header``, ``tensorfiles``, ``mixture``, ``archive``: what a
  file holds, judged by its bytes (data chunks, safetensors, the source archive);
* ``listing``: a run's regular files; ``checks``: where its records disagree with its bytes;
  ``check``: ``check_run`` (``llm360 run check``);
* ``writer``, ``staging``, ``lock``: writing a run (``RunWriter``, checkpoint folders renamed into
  place, one writer per run); ``importer``: Hugging Face checkpoint folders into a run.
"""
