"""Adapters that write an llm360 run directory from other trainers (optional extras)."""
