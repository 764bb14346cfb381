"""The GIL is released while audio is processed: two threads are inside Graph.process at the
same time (their call intervals overlap for most of their length)."""

import threading
import time

import numpy as np

import stagegraph
from conftest import graph_path, noise


def test_two_threads_process_at_once():
    g = stagegraph.Graph.load(graph_path("mastering/loud-club.yaml"))
    x = noise(2, 48000 * 4, seed=11)
    expected = g.process(x, 48000)
    barrier = threading.Barrier(2)
    intervals, results = [None, None], [None, None]

    def work(k):
        barrier.wait()
        start = time.perf_counter()
        results[k] = g.process(x, 48000)
        intervals[k] = (start, time.perf_counter())

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, expected) for r in results)  # each thread had its own program
    (a0, a1), (b0, b1) = intervals
    overlap = min(a1, b1) - max(a0, b0)
    shorter = min(a1 - a0, b1 - b0)
    # Holding the GIL, one call would run entirely before the other: an overlap of at most one
    # interpreter switch interval. Released, each call is inside the other for most of it.
    assert overlap > 0.5 * shorter, (intervals, overlap, shorter)


def test_processors_in_threads():
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    inputs = [noise(2, 30000, seed=s) for s in range(4)]
    expected = [g.process(x, 48000) for x in inputs]
    results = [None] * 4

    def work(k):
        p = g.processor(48000, block=256)
        results[k] = np.concatenate([p.process(inputs[k][:, i:i + 777]) for i in range(0, 30000, 777)] + [p.flush()], axis=1)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, e) for r, e in zip(results, expected))
