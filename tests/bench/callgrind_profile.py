#!/usr/bin/python3
"""Instruction counts (valgrind's callgrind) of stagegraph on excerpts of the bench-compare material.

`make bench-callgrind` runs this. Sampling profiles (perf) move with the load of a shared machine;
instruction counts do not, so they show where the work is and whether a change removed some of it.
Valgrind cannot execute AVX-512, and under it the CPU reports AVX2, so the AVX2 kernels are the
ones counted (the dispatch picks them by itself; STAGEGRAPH_SIMD=avx2 is set to make it explicit).

For each workload: the instructions of the whole process, per frame of audio, and the functions
over 1 % with their share and their instructions per frame.

  W1       20 s of the 10-minute master through tests/bench/graphs/w1.yaml, 24-bit out
  W2       the 32 tracks' first 5 s through tests/bench/graphs/w2.yaml, 24-bit out
  analyze  stagegraph analyze of 20 s of the master
  analyze-loudness  the same with --figures loudness (no balance bank)

Usage: callgrind_profile.py [--build DIR] [--only W1,W2,analyze,analyze-loudness] [--top N]
Needs valgrind, sox and Debian's python3-numpy (for the material, made once by bench_compare.py).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bench_compare  # noqa: E402  (its material, made once and shared)

W1_SECONDS = 20
W2_SECONDS = 5


def excerpt(source, target, seconds):
    if not os.path.exists(target):
        subprocess.run(["sox", source, target + ".tmp.wav", "trim", "0", str(seconds)], check=True)
        os.replace(target + ".tmp.wav", target)
    return target


def callgrind(cmd, out_file):
    env = dict(os.environ, STAGEGRAPH_SIMD="avx2")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_file] + cmd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    text = subprocess.run(["callgrind_annotate", "--threshold=100", out_file], capture_output=True, text=True,
                          check=True).stdout
    total = None
    functions = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
            continue
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S.*?):(.+?)(?: \[(.*)\])?$", line)
        if m:
            name = short_name(m.group(4))
            if name.startswith("0x") and m.group(5):  # no symbol: say which library
                name = os.path.basename(m.group(5)).split(".so")[0] + " " + name
            functions.append((int(m.group(1).replace(",", "")), float(m.group(2)), name))
    if total is None:
        sys.exit("callgrind_profile: no totals in callgrind_annotate's output")
    return total, functions


def short_name(signature):
    """`sg::simd_avx2::foo(float const*, int)` -> `simd_avx2::foo`; templates and arguments cut."""
    name = signature.replace("(anonymous namespace)::", "")
    depth, cut = 0, []
    for ch in name:  # drop template arguments
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            cut.append(ch)
    name = "".join(cut)
    name = name.split("(")[0].strip().split(" ")[-1]  # no arguments, no return type
    return name.replace("sg::", "")[:60]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--only", default="W1,W2,analyze,analyze-loudness")
    parser.add_argument("--top", type=int, default=14)
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_annotate", "sox"):
        if not shutil.which(tool):
            sys.exit(f"callgrind_profile: {tool} is not installed (apt-get install valgrind sox)")
    sg = os.path.join(args.build, "stagegraph")
    if not os.access(sg, os.X_OK):
        sys.exit(f"callgrind_profile: no {sg}: build first (make build)")
    work = os.path.join(args.build, "bench-compare")
    os.makedirs(work, exist_ok=True)
    master, tracks, _ = bench_compare.make_material(work, False)
    out = os.path.join(args.build, "bench-callgrind")
    os.makedirs(out, exist_ok=True)
    w1_in = excerpt(master, os.path.join(out, f"master-{W1_SECONDS}s.wav"), W1_SECONDS)
    w2_in = [excerpt(t, os.path.join(out, f"track{i:02d}-{W2_SECONDS}s.wav"), W2_SECONDS) for i, t in enumerate(tracks)]
    rate = bench_compare.RATE
    table = {
        "W1": ([sg, "render", os.path.join(ROOT, "tests/bench/graphs/w1.yaml"), "-i", w1_in, "-o",
                os.path.join(out, "w1.wav"), "--format", "wav24"], W1_SECONDS * rate),
        "W2": ([sg, "render", os.path.join(ROOT, "tests/bench/graphs/w2.yaml")] +
               [a for i, p in enumerate(w2_in) for a in ("-i", f"t{i}={p}")] +
               ["-o", os.path.join(out, "w2.wav"), "--format", "wav24"], W2_SECONDS * rate),
        "analyze": ([sg, "analyze", w1_in, "--json"], W1_SECONDS * rate),
        "analyze-loudness": ([sg, "analyze", w1_in, "--json", "--figures", "loudness"], W1_SECONDS * rate),
    }
    for name in [w.strip() for w in args.only.split(",") if w.strip()]:
        if name not in table:
            sys.exit(f"callgrind_profile: --only: unknown workload '{name}' (W1, W2, analyze, analyze-loudness)")
        cmd, frames = table[name]
        total, functions = callgrind(cmd, os.path.join(out, f"callgrind.{name}"))
        print(f"\n{name}: {total:,} instructions, {total / frames:,.0f} per frame ({frames:,} frames, AVX2 kernels)")
        print(f"  {'function':60} {'share':>7} {'per frame':>10}")
        for count, share, fn in functions[:args.top]:
            if share < 1.0:
                break
            print(f"  {fn:60} {share:6.1f}% {count / frames:10.1f}")
    print(f"\ncallgrind files in {out} (callgrind_annotate FILE, or kcachegrind)")


if __name__ == "__main__":
    main()
