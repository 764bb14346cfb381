"""A Graph pickles as its texts and settings: the copy is the same graph, even where the
files it was loaded from no longer exist."""

import os
import pickle
import subprocess
import sys

import numpy as np

import stagegraph
from conftest import graph_path, noise

MAIN = """stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  strip: {use: parts/strip.yaml, level: -2 dB}
  verb: {type: reverb, decay: 1.5 s, mix: 30 %}
connections:
  - mix -> strip -> verb -> out
"""
STRIP = """stagegraph: 1
params: {level: 0 dB}
inputs: {in: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  eq: {type: peak, freq: 2 kHz, q: 1, gain: 2 dB}
  fader: {type: gain, gain: $level}
connections:
  - in -> eq -> fader -> out
"""


def write_graph(folder):
    (folder / "parts").mkdir()
    (folder / "main.yaml").write_text(MAIN)
    (folder / "parts" / "strip.yaml").write_text(STRIP)
    return str(folder / "main.yaml")


def test_round_trip_without_the_files(tmp):
    g = stagegraph.Graph.load(write_graph(tmp))
    g.set("verb.decay", "0.8 s")
    g.set("strip.fader.gain", -4)
    x = noise(2, 20000, seed=9)
    expected = g.process(x, 48000)
    blob = pickle.dumps(g)
    # Gone from the disk, changed on the disk: the pickle holds the texts that were loaded.
    (tmp / "parts" / "strip.yaml").write_text(STRIP.replace("2 dB", "9 dB"))
    os.remove(tmp / "main.yaml")
    copy = pickle.loads(blob)
    assert copy.settings == {"verb.decay": "0.8 s", "strip.fader.gain": "-4"}
    assert copy.files == g.files and copy.path == g.path
    assert np.array_equal(copy.process(x, 48000), expected)
    # Another setting on the copy compiles from the pickled texts too.
    copy.set("verb.mix", "20 %")
    g.set("verb.mix", "20 %")
    assert np.array_equal(copy.process(x, 48000), g.process(x, 48000))


def test_round_trip_in_another_process(tmp):
    g = stagegraph.Graph.from_yaml(MAIN, base_dir=str(write_graph(tmp).rsplit("/", 1)[0]))
    x = noise(2, 8000, seed=10)
    np.save(tmp / "x.npy", x)
    np.save(tmp / "y.npy", g.process(x, 44100))
    (tmp / "g.pickle").write_bytes(pickle.dumps(g))
    os.remove(tmp / "parts" / "strip.yaml")
    code = ("import pickle, sys, numpy as np; g = pickle.load(open(sys.argv[1], 'rb')); "
            "x = np.load(sys.argv[2]); sys.exit(0 if np.array_equal(g.process(x, 44100), np.load(sys.argv[3])) else 1)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp / "g.pickle"), str(tmp / "x.npy"), str(tmp / "y.npy")],
                            cwd="/", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_pickled_state_is_texts_and_settings():
    g = stagegraph.Graph.load(graph_path("mastering/loud-club.yaml"))
    g.set("drive.gain", "3 dB")
    state = g.__getstate__()
    assert set(state) == {"format", "path", "text", "name", "base_dir", "files", "include_dirs", "settings"}
    assert [f for f, _ in state["files"]] == g.files
    with open(graph_path("mastering/loud-club.yaml")) as f:
        assert state["files"][0][1] == f.read()
    assert state["settings"] == [("drive.gain", "3 dB")]
