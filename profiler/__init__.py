"""Find out why a program that calls the OpenAI Chat Completions API is slow or failing."""

__version__ = "0.1.0"
