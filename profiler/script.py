"""Running the user's program as Python would: ``SCRIPT ARGS…`` or ``-m MODULE ARGS…``.

``sys.argv``, ``sys.path[0]`` and ``__main__`` are set as ``python SCRIPT``
sets them; the program's exit code, its exception and Ctrl-C are caught and
turned into an :class:`Outcome`, so the profiler can still write what it
measured. The program runs in this process, so the instrumentation sees every
OpenAI client it creates, in any thread.
"""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Program:
    """What to run: a script path or a module name, and its arguments."""

    script: Path | None = None
    module: str | None = None
    args: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        head = f"-m {self.module}" if self.module else str(self.script)
        return " ".join([head, *self.args])


@dataclass(frozen=True, slots=True)
class Outcome:
    exit_code: int
    traceback: str | None = None  # as Python would print it, our own frames left out
    interrupted: bool = False


def check(program: Program) -> str | None:
    """Why the program cannot be run, in one line, or None."""
    if program.script is not None:
        if not program.script.exists():
            return f"can't open file '{program.script}': No such file or directory"
        if program.script.is_dir() and not (program.script / "__main__.py").exists():
            return f"can't find '__main__' module in '{program.script}'"
    return None


def _exit_code(code: object) -> tuple[int, str | None]:
    if code is None:
        return 0, None
    if isinstance(code, int):
        return code, None
    return 1, str(code)  # sys.exit("message") prints the message and exits 1


def _program_traceback(exc: BaseException) -> str:
    """The traceback from the program's first frame on, as the interpreter prints it."""
    tb = exc.__traceback__
    here = Path(__file__).resolve().parent
    while tb is not None and (
        Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(here)
        or tb.tb_frame.f_code.co_filename.endswith("runpy.py")
        or tb.tb_frame.f_code.co_filename.startswith("<frozen runpy>")
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


@contextlib.contextmanager
def _as_main(program: Program) -> Iterator[None]:
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    try:
        if program.module:
            sys.argv = [program.module, *program.args]  # runpy replaces argv[0] with the file
            sys.path.insert(0, os.getcwd())
        else:
            assert program.script is not None
            sys.argv = [str(program.script), *program.args]
            sys.path.insert(
                0, str(program.script.resolve().parent if program.script.is_file() else program.script)
            )
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the program's own prints (for repeated profiler passes)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def run_program(program: Program, *, quiet: bool = False) -> Outcome:
    """Run the program once; never raises for what the program does."""
    with _as_main(program), _quiet() if quiet else contextlib.nullcontext():
        try:
            if program.module:
                runpy.run_module(program.module, run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(str(program.script), run_name="__main__")
        except SystemExit as exit_:
            code, message = _exit_code(exit_.code)
            if message and not quiet:
                print(message, file=sys.stderr)
            return Outcome(code)
        except KeyboardInterrupt:
            return Outcome(130, interrupted=True)
        except BaseException as exc:
            return Outcome(1, traceback=_program_traceback(exc))
    return Outcome(0)
