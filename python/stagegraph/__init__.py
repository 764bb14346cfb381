"""stagegraph: node-graph audio processing (mixing and mastering graphs in YAML) for numpy.

    import numpy as np, stagegraph
    g = stagegraph.Graph.load("graphs/mastering/streaming.yaml")
    g.set("glue.threshold", "-20 dB")
    master = g.process(mix, 48000)            # float32 (channels, frames) in and out
    print(stagegraph.analyze(master, 48000)["integrated_lufs"])

See docs/python.md for the whole API.
"""

import json as _json

from ._errors import AudioFileError, Diagnostic, GraphError, ProcessingError
from ._stagegraph import Graph, Processor, nodes, read_audio, write_audio
from . import _stagegraph

__all__ = ["Graph", "Processor", "GraphError", "Diagnostic", "ProcessingError", "AudioFileError",
           "analyze", "analyze_file", "nodes", "read_audio", "write_audio"]
__version__ = getattr(_stagegraph, "__version__", "0")


def analyze(x, sample_rate, *, oversampling=4, figures="all"):
    """Loudness and level figures of a float32 (channels, frames) signal, as a dict with the keys
    of ``stagegraph analyze --json`` ("file" is None). -inf figures (silence) are None.
    ``figures="loudness"``: only the loudness figures (``--figures loudness``), without the
    balance keys."""
    result = _json.loads(_stagegraph._analyze(x, sample_rate, oversampling, figures))
    result["file"] = None
    return result


def analyze_file(path, *, oversampling=4, figures="all"):
    """The figures of an audio file, exactly as ``stagegraph analyze --json`` prints them
    (``figures="loudness"``: as ``--figures loudness`` prints them)."""
    return _json.loads(_stagegraph._analyze_file(str(path), oversampling, figures))
