"""What the Python package costs against the command line, on the same work.

    PYTHONPATH=build/python python3 python/bench/overhead.py build/stagegraph \
        [--graph graphs/mastering/streaming.yaml] [--minutes 10] [--clips 1000] [--batch-cli PATH]

1. One long render (stereo, 48 kHz, float WAV in and out): `stagegraph render` against
   read_audio + Graph.process + write_audio in Python, and Graph.process alone (in memory).
2. Many one-second clips: a shell-style loop of `stagegraph render` (one process per clip)
   against one Python process looping over the files (read, process, write), the same with two
   threads, and `stagegraph batch --jobs 2` when a command that has it is given (--batch-cli).
Every Python output is checked equal to the command line's, so the figures compare equal work.
Prints wall-clock seconds and CPU seconds (user + system, of this process and its children: on
a shared machine the CPU time is the figure that does not depend on the other load); the best
of --repeat runs for the long render.
"""

import argparse
import concurrent.futures
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

import stagegraph


def cpu_seconds():
    """User + system CPU seconds of this process (every thread) and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    """(wall, cpu) seconds of one call."""

    def __init__(self, wall, cpu):
        self.wall, self.cpu = wall, cpu

    def __lt__(self, other):
        return self.wall < other.wall

    def __str__(self):
        return f"{self.wall:8.2f} s wall {self.cpu:8.2f} s CPU"


def timed(function):
    start, cpu = time.perf_counter(), cpu_seconds()
    result = function()
    return Clock(time.perf_counter() - start, cpu_seconds() - cpu), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cli")
    parser.add_argument("--graph", default=os.path.join(os.path.dirname(__file__), "..", "..", "graphs", "mastering",
                                                        "streaming.yaml"))
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch-cli", default=None)
    args = parser.parse_args()
    rate = 48000
    rng = np.random.default_rng(1)
    g = stagegraph.Graph.load(args.graph)

    with tempfile.TemporaryDirectory() as tmp:
        # 1. One long render.
        frames = int(args.minutes * 60 * rate)
        x = (rng.standard_normal((2, frames)) * 0.2).astype(np.float32)
        long_in = os.path.join(tmp, "long.wav")
        stagegraph.write_audio(long_in, x, rate, format="wav32f")
        del x
        cli_times, py_times, mem_times = [], [], []
        for _ in range(args.repeat):
            t, _ = timed(lambda: subprocess.run([args.cli, "render", args.graph, "-i", long_in, "-o",
                                                 os.path.join(tmp, "long.cli.wav"), "--format", "wav32f"],
                                                check=True, capture_output=True))
            cli_times.append(t)

            def python_files():
                y, r = stagegraph.read_audio(long_in)
                stagegraph.write_audio(os.path.join(tmp, "long.py.wav"), g.process(y, r), r, format="wav32f")

            t, _ = timed(python_files)
            py_times.append(t)
            y, r = stagegraph.read_audio(long_in)
            t, out = timed(lambda: g.process(y, r))
            mem_times.append(t)
        assert np.array_equal(stagegraph.read_audio(os.path.join(tmp, "long.cli.wav"))[0],
                              stagegraph.read_audio(os.path.join(tmp, "long.py.wav"))[0])
        del y, out
        print(f"{args.minutes:g}-minute render, stereo 48 kHz, {os.path.basename(args.graph)} (best of {args.repeat}):")
        best = [min(cli_times, key=lambda c: c.cpu), min(py_times, key=lambda c: c.cpu), min(mem_times, key=lambda c: c.cpu)]
        print(f"  stagegraph render                        {best[0]}")
        print(f"  Python read_audio+process+write_audio    {best[1]}  ({best[1].cpu / best[0].cpu:.2f}x CPU)")
        print(f"  Python Graph.process alone (in memory)   {best[2]}  ({best[2].cpu / best[0].cpu:.2f}x CPU)")
        os.remove(long_in)

        # 2. Many one-second clips.
        clips = []
        for k in range(args.clips):
            path = os.path.join(tmp, f"clip{k:04d}.wav")
            stagegraph.write_audio(path, (rng.standard_normal((2, rate)) * 0.2).astype(np.float32), rate, format="wav32f")
            clips.append(path)

        def cli_loop():
            for path in clips:
                subprocess.run([args.cli, "render", args.graph, "-i", path, "-o", path.replace(".wav", ".cli.wav"),
                                "--format", "wav32f"], check=True, capture_output=True)

        def master(path):
            y, r = stagegraph.read_audio(path)
            stagegraph.write_audio(path.replace(".wav", ".py.wav"), g.process(y, r), r, format="wav32f")

        def python_loop():
            for path in clips:
                master(path)

        def python_threads():
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                list(pool.map(master, clips))

        cli_t, _ = timed(cli_loop)
        loop_t, _ = timed(python_loop)
        threads_t, _ = timed(python_threads)
        for path in clips[:: max(1, len(clips) // 20)]:
            assert np.array_equal(stagegraph.read_audio(path.replace(".wav", ".cli.wav"))[0],
                                  stagegraph.read_audio(path.replace(".wav", ".py.wav"))[0])
        print(f"{args.clips} one-second clips, stereo 48 kHz:")
        def line(label, clock):
            print(f"  {label:40} {clock}  ({1000 * clock.cpu / args.clips:.2f} ms CPU/clip)")

        line("stagegraph render, one process per clip", cli_t)
        line("Python loop, one process", loop_t)
        line("Python, 2 threads", threads_t)
        if args.batch_cli:
            manifest = os.path.join(tmp, "clips.csv")
            with open(manifest, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["input", "output", "graph", "format"])
                for path in clips:
                    writer.writerow([path, path.replace(".wav", ".batch.wav"), os.path.abspath(args.graph), "wav32f"])
            batch_t, _ = timed(lambda: subprocess.run([args.batch_cli, "batch", manifest, "--jobs", "2"], check=True,
                                                      capture_output=True))
            line("stagegraph batch --jobs 2", batch_t)


if __name__ == "__main__":
    sys.exit(main())
