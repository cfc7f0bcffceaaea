"""Benchmarks per checkpoint: EleutherAI's lm-evaluation-harness run on a run's checkpoints
(``runner``), results computed elsewhere attached to them (``importer``: lm-eval 0.4 and 0.3,
Open LLM Leaderboard v1 details), and a benchmark built from the run's held-out set that the
harness runs offline (``embedded``).

Rows and raw results live in ``evals/benchmarks/`` of the run (``llm360.registry.run.benchmarks``
reads them); the harness is imported by ``runner`` only, when it runs. This package may import
``llm360.registry`` and ``llm360.train``, never the reverse.
"""
