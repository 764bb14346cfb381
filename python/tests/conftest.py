"""Shared helpers of the Python tests: the stagegraph command, the source tree, and a WAV
float32 reader/writer written here with numpy alone (independent of libsndfile)."""

import json
import os
import struct
import subprocess

import numpy as np
import pytest

SOURCE_DIR = os.environ.get("STAGEGRAPH_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CLI = os.environ.get("STAGEGRAPH_CLI", os.path.join(SOURCE_DIR, "build", "stagegraph"))


def graph_path(name):
    """A shipped graph, e.g. graph_path("mastering/streaming.yaml")."""
    return os.path.join(SOURCE_DIR, "graphs", name)


def run_cli(*args, check=True):
    """Runs the stagegraph command; returns the CompletedProcess (text)."""
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"stagegraph {' '.join(map(str, args))} exited {result.returncode}:\n{result.stderr}")
    return result


def write_wav_float(path, x, sample_rate):
    """Writes x, float32 (channels, frames), as a WAVE_FORMAT_IEEE_FLOAT file."""
    x = np.asarray(x, dtype=np.float32)
    channels, frames = x.shape
    data = x.T.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, channels, int(sample_rate), int(sample_rate) * 4 * channels, 4 * channels, 32)
    fact = struct.pack("<I", frames)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
    body += b"data" + struct.pack("<I", len(data)) + data
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)


def read_wav_float(path):
    """Reads a 32-bit float WAV (plain or WAVE_FORMAT_EXTENSIBLE): (x (channels, frames), rate)."""
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:4] == b"RIFF" and blob[8:12] == b"WAVE", f"{path}: not a WAV file"
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(blob):
        chunk, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        payload = blob[pos + 8:pos + 8 + size]
        if chunk == b"fmt ":
            fmt = payload
        elif chunk == b"data":
            data = payload
        pos += 8 + size + (size & 1)
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == 0xFFFE:
        tag = struct.unpack("<H", fmt[24:26])[0]
    assert tag == 3 and bits == 32, f"{path}: not 32-bit float (format {tag}, {bits} bits)"
    x = np.frombuffer(data, dtype="<f4").reshape(-1, channels).T.astype(np.float32)
    return np.ascontiguousarray(x), rate


def noise(channels, frames, seed=1, level=0.25):
    """Deterministic float32 test signal: shaped noise with a few loud bursts (the limiter works)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, frames)) * level
    t = np.arange(frames) / 48000.0
    x += 0.6 * np.sin(2 * np.pi * 110 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0.5)
    return x.astype(np.float32)


def render(graph, inputs, out_path, *extra):
    """Renders with the command line to wav32f; inputs: list of "[NAME=]FILE"."""
    args = ["render", graph]
    for i in inputs:
        args += ["-i", i]
    run_cli(*args, "-o", out_path, "--format", "wav32f", *extra)
    return read_wav_float(out_path)[0]


def analyze_json(path):
    return json.loads(run_cli("analyze", "--json", path).stdout)[0]


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
