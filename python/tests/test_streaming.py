"""Graph.processor: block by block, bit-identical to one Graph.process call."""

import pickle

import numpy as np
import pytest

import stagegraph
from conftest import graph_path, noise


@pytest.mark.parametrize("graph,rate", [("mastering/streaming.yaml", 48000), ("mastering/loud-club.yaml", 44100),
                                        ("mixing/reverb-send.yaml", 48000)])
def test_random_blocks_equal_one_call(graph, rate):
    g = stagegraph.Graph.load(graph_path(graph))
    x = {name: noise(channels, 40000, seed=5 + i) for i, (name, channels) in enumerate(g.inputs.items())}
    whole = g.process(x, rate)
    rng = np.random.default_rng(6)
    for block in (1, 64, 1024, 8192):
        p = g.processor(rate, block=block)
        assert p.latency_frames == g.latency_frames(rate)
        parts, start = [], 0
        while start < 40000:
            n = int(rng.integers(0, 3000))  # includes empty calls
            parts.append(p.process({name: s[:, start:start + n] for name, s in x.items()}))
            start += n
        parts.append(p.flush())
        if not isinstance(whole, dict):  # one output: arrays; several: dicts of arrays
            parts = [{"out": part} for part in parts]
        for name, expected in (whole.items() if isinstance(whole, dict) else [("out", whole)]):
            y = np.concatenate([part[name] for part in parts], axis=1)
            assert y.shape == expected.shape
            assert np.array_equal(y, expected), f"block {block}, output {name}"
            # Output so far is exactly the input minus the latency: nothing is held back but that.
            assert sum(part[name].shape[1] for part in parts[:-1]) == max(0, 40000 - p.latency_frames)


def test_flush_reset_and_reuse():
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    x = noise(2, 5000, seed=7)
    p = g.processor(48000)
    first = np.concatenate([p.process(x), p.flush()], axis=1)
    with pytest.raises(ValueError, match="flushed"):
        p.process(x)
    with pytest.raises(ValueError, match="flushed"):
        p.flush()
    p.reset()
    second = np.concatenate([p.process(x), p.flush()], axis=1)
    assert np.array_equal(first, second) and np.array_equal(first, g.process(x, 48000))


def test_processor_keeps_its_graph_after_set():
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    x = noise(2, 5000, seed=8)
    before = g.process(x, 48000)
    p = g.processor(48000)
    g.set("trim.gain", "-6 dB")
    assert not np.array_equal(g.process(x, 48000), before)
    assert np.array_equal(np.concatenate([p.process(x), p.flush()], axis=1), before)


def test_processor_is_not_picklable():
    p = stagegraph.Graph.load(graph_path("mastering/streaming.yaml")).processor(48000)
    with pytest.raises(TypeError, match="not picklable.*pickle the Graph"):
        pickle.dumps(p)


def test_processor_rejects_unequal_inputs():
    g = stagegraph.Graph.load(graph_path("mixing/four-stems.yaml"))
    p = g.processor(48000)
    blocks = {n: np.zeros((1, 100), np.float32) for n in g.inputs}
    blocks["kick"] = np.zeros((1, 99), np.float32)
    with pytest.raises(ValueError, match="same number of frames"):
        p.process(blocks)
