"""The ``llm360`` command: thin click commands over the library."""
