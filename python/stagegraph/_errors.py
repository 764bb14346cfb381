"""Errors of the stagegraph package (pure Python, so they pickle and read like any exception)."""

from typing import NamedTuple

__all__ = ["Diagnostic", "GraphError", "ProcessingError", "AudioFileError"]


class Diagnostic(NamedTuple):
    """One graph error with its position (line and column 1-based; 0 = unknown)."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line > 0:
            where += f":{self.line}"
            if self.column > 0:
                where += f":{self.column}"
        return f"{where}: {self.severity}: {self.message}"


class GraphError(ValueError):
    """A graph that does not load or compile. ``diagnostics`` holds every error found, each
    with file, line, column and message; ``str()`` is one compiler-style line per error, as
    ``stagegraph check`` prints them."""

    def __init__(self, diagnostics):
        self.diagnostics = [d if isinstance(d, Diagnostic) else Diagnostic(*d) for d in diagnostics]
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self):
        return (type(self), ([tuple(d) for d in self.diagnostics],))


class ProcessingError(RuntimeError):
    """A run that failed: the graph produced non-finite samples (NaN or infinity)."""


class AudioFileError(OSError):
    """An audio file that cannot be read or measured; the message names the file and the reason."""
