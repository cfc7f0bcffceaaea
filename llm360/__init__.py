"""llm360: package, sign, verify and publish fully open LLM pretraining releases."""

__all__ = ["__version__"]

__version__ = "0.1.0"
