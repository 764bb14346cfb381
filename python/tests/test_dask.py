"""Dask: a LocalCluster of 2 worker processes maps Graph.process over files (the Graph is
pickled to the workers); the outputs equal the command line's renders bit for bit."""

import os
import sys

import cloudpickle
import numpy as np
import pytest

import stagegraph
from conftest import graph_path, noise, read_wav_float, render, write_wav_float

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # tornado, inside distributed

# The mapped function lives in this test module, which the workers cannot import: ship it by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def master_file(graph, source, target):
    """What a catalogue job does with one file: read, process, write (atomically)."""
    x, rate = stagegraph.read_audio(source)
    stagegraph.write_audio(target, graph.process(x, rate), rate, format="wav32f")
    return os.getpid()


def test_local_cluster_maps_graph_process_over_files(tmp):
    sources = []
    for k in range(4):
        sources.append(str(tmp / f"song{k}.wav"))
        write_wav_float(sources[-1], noise(2, 24000 + 1000 * k, seed=20 + k), 44100 if k % 2 else 48000)
    g = stagegraph.Graph.load(graph_path("mastering/loud-club.yaml"))
    g.set("drive.gain", "8 dB")
    targets = [s.replace(".wav", ".master.wav") for s in sources]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        pids = client.gather(client.map(master_file, [g] * len(sources), sources, targets, pure=False))
    assert os.getpid() not in pids  # the work ran in the worker processes
    for source, target in zip(sources, targets):
        expected = render(graph_path("mastering/loud-club.yaml"), [source], target.replace(".master", ".cli"),
                          "--set", "drive.gain=8dB")
        assert np.array_equal(read_wav_float(target)[0], expected), target
