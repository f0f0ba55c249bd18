"""Find out why a program that calls the OpenAI Chat Completions API is slow or failing.

The Python API: :func:`session`, :func:`profile`, :func:`load_run` (imported on
first use, so ``import profiler`` stays cheap).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_run", "profile", "session"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from profiler import api

        return getattr(api, name)
    if name == "load_ipython_extension":  # %load_ext profiler
        from profiler.magic import load_ipython_extension

        return load_ipython_extension
    raise AttributeError(f"module 'profiler' has no attribute {name!r}")
