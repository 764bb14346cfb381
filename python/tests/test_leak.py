"""No leak over 10,000 calls: the resident set stays flat (programs are pooled, arrays freed)."""

import os

import numpy as np
import pytest

import stagegraph
from conftest import graph_path, noise


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_ten_thousand_calls_do_not_grow():
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    x = noise(2, 512, seed=12)
    for _ in range(500):  # warm up: the pool, numpy's and malloc's caches
        g.process(x, 48000)
    before = rss_bytes()
    for _ in range(10000):
        y = g.process(x, 48000)
    grown = rss_bytes() - before
    # A leak of one input or output array per call would be 40 MB here.
    assert grown < 4 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 10,000 calls"
    assert y.shape == x.shape


def test_processors_errors_and_analyses_do_not_grow():
    g = stagegraph.Graph.load(graph_path("mastering/loud-club.yaml"))
    x = noise(2, 256, seed=13)
    bad = "stagegraph: 1\nnodes:\n  a: {type: nope}\n"

    def cycle():
        p = g.processor(48000, block=128)
        p.process(x)
        p.flush()
        with pytest.raises(stagegraph.GraphError):
            stagegraph.Graph.from_yaml(bad)
        with pytest.raises(TypeError):
            g.process(x.astype(np.float64), 48000)
        stagegraph.analyze(x, 48000)

    for _ in range(100):
        cycle()
    before = rss_bytes()
    for _ in range(1000):
        cycle()
    grown = rss_bytes() - before
    assert grown < 4 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 1,000 cycles"
