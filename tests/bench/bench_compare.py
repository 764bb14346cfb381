#!/usr/bin/python3
"""stagegraph side by side with ffmpeg and SoX on the reference chains of docs/performance.md.

`make bench-compare` runs this. It makes its own material (deterministic, music-like and hostile:
tones, kicks, noise bursts, inter-sample-peak bursts, clicks, near-silence), then runs every tool
on every workload in alternation, N rounds, and prints the median whole-process wall time, the
ratio to stagegraph and the peak resident memory (getrusage of the child). Before each timed run
(not timed) it deletes the output the tool wrote in the previous round, syncs the previous tools'
writeback and reads the run's inputs once, so every tool starts from the same state: no old output
of its own to replace, nothing of another's to write back, its inputs in the page cache. (Replacing
a 173 MB output costs the filesystem 10-60 ms here, whichever tool does it: ffmpeg when it opens
the output with O_TRUNC, stagegraph when it renames the finished file over it. --keep-outputs
measures with it.)

  W1         mastering chain, 10 min 48 kHz stereo float WAV -> 24-bit WAV (tests/bench/graphs/w1.yaml)
  W1-target  W1 with --target spotify (-14 LUFS, -1 dBTP); ffmpeg's peer adds loudnorm=I=-14:TP=-1
  W2         32 mono 3-minute tracks, channel strips summed to a bus (tests/bench/graphs/w2.yaml)
  analyze    integrated, LRA and 4x true peak of the 10-minute file: stagegraph analyze (every
             figure, and --figures loudness: the loudness figures alone, libebur128's job) against
             libebur128 (tests/bench/ebur128_file.cpp) and ffmpeg's ebur128 filter

Usage: bench_compare.py [--build DIR] [--work DIR] [--runs N] [--only W1,W1-target,W2,analyze]
                        [--long]      also render and analyze 60 minutes: peak memory vs length
                        [--keep-outputs]  each run replaces the tool's output of the round before
Needs ffmpeg, sox, and Debian's python3-numpy.
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

RATE = 48000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MATERIAL_VERSION = "2"  # bump when the material changes, so cached files are made again

# ---- material ---------------------------------------------------------------------------------


def wav_float_header(frames, channels):
    """A WAVE_FORMAT_IEEE_FLOAT header: fmt with cbSize 0, fact, then the data chunk."""
    data = frames * channels * 4
    fmt = struct.pack("<HHIIHHH", 3, channels, RATE, RATE * channels * 4, channels * 4, 32, 0)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<II", 4, frames)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + 8 + data) + b"WAVE" + chunks + b"data" + struct.pack("<I", data)


def decay(t_in_event, seconds):
    return np.exp(-t_in_event / seconds)


def master_segment(start, frames):
    """Stereo music-like material from frame `start`: a pad (three detuned tones with vibrato),
    a bass line, a kick every 0.5 s (a falling sine), a noise snare every second, hats, and the
    hostile parts: level sections 12 dB apart, fs/4 bursts at 45 degrees every 17 s (their true
    peak is 3 dB over their samples), full-scale clicks every 29 s, 3 s of near-silence every
    4 min (under the gate), and DC. Deterministic: noise is seeded by the absolute frame."""
    n = np.arange(start, start + frames, dtype=np.float64)
    t = n / RATE
    rng = np.random.default_rng(1000 + start // frames)
    noise_l = rng.uniform(-1, 1, frames)
    noise_r = rng.uniform(-1, 1, frames)
    section = np.floor(t / 30.0)
    level = 10 ** ((-6.0 * (section % 3) + 2.0 * np.sin(2 * np.pi * t / 13.0)) / 20)
    chord = (220.0, 277.18, 329.63)
    root = np.array(chord)[(np.floor(t / 4.0) % 3).astype(int)]
    vib = 1 + 0.002 * np.sin(2 * np.pi * 5 * t)
    pad = sum(0.08 * np.sin(2 * np.pi * (root * k) * vib * t) for k in (1.0, 1.26, 1.5))
    bass = 0.25 * np.sin(2 * np.pi * (root / 4) * t) * (0.6 + 0.4 * np.cos(2 * np.pi * 2 * t))
    beat = np.mod(t, 0.5)
    kick = 0.7 * np.sin(2 * np.pi * (45 + 75 * decay(beat, 0.03)) * beat) * decay(beat, 0.12)
    snare_t = np.mod(t - 0.5, 1.0)
    snare = 0.4 * decay(snare_t, 0.06)
    hat_t = np.mod(t, 0.125)
    hat = 0.06 * decay(hat_t, 0.015)
    hat_l = hat * np.diff(noise_l, prepend=0.0)
    hat_r = hat * np.diff(noise_r, prepend=0.0)
    left = level * (pad + bass + kick + snare * noise_l + hat_l)
    right = level * (0.9 * pad + bass + kick + snare * (0.7 * noise_l + 0.3 * noise_r) + hat_r)
    isp = (np.mod(t, 17.0) < 0.05) * 0.9 * np.sin(2 * np.pi * (RATE / 4) * t + np.pi / 4)
    left += isp
    right -= isp
    click = (np.mod(n, 29 * RATE) == 7).astype(np.float64)
    left += click
    right -= click
    quiet = np.mod(t, 240.0) > 237.0
    left[quiet] *= 1e-4
    right[quiet] *= 1e-4
    left += 0.003
    right -= 0.002
    out = np.empty((frames, 2), dtype=np.float32)
    out[:, 0] = 0.5 * left
    out[:, 1] = 0.5 * right
    return out


def track_segment(track, start, frames):
    """One of the 32 mono tracks: its own instrument (kick, bass, pad, percussion, by track % 4)
    at its own pitch and tempo offset, with noise bursts, a click and level moves."""
    n = np.arange(start, start + frames, dtype=np.float64)
    t = n / RATE
    rng = np.random.default_rng(track * 7919 + start // frames)
    noise = rng.uniform(-1, 1, frames)
    f = 55.0 * 2 ** (track / 12.0)
    level = 10 ** ((-8.0 * ((np.floor(t / 20.0) + track) % 2) + 3 * np.sin(2 * np.pi * t / (7 + track))) / 20)
    beat = np.mod(t + 0.01 * track, 0.5 + 0.05 * (track % 3))
    kind = track % 4
    if kind == 0:
        x = 0.8 * np.sin(2 * np.pi * (40 + 90 * decay(beat, 0.02)) * beat) * decay(beat, 0.15)
    elif kind == 1:
        x = 0.4 * np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * decay(beat, 0.2)) + 0.05 * np.sin(2 * np.pi * 3 * f * t)
    elif kind == 2:
        x = 0.15 * sum(np.sin(2 * np.pi * f * 4 * k * t + k) for k in (1.0, 1.5, 2.0, 2.52))
    else:
        x = 0.5 * noise * decay(beat, 0.04)
    x = x + 0.3 * noise * (np.mod(t, 3.7 + 0.1 * track) < 0.02)
    x = level * x
    x[np.mod(n, 11 * RATE + 101 * track) == 0] = 0.99
    return (0.5 * x).astype(np.float32)


def write_material(path, frames, channels, segment):
    """Writes `frames` frames made by segment(start, count) in 10-second pieces (memory stays
    small), through a temporary file renamed into place."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(wav_float_header(frames, channels))
        piece = 10 * RATE
        for start in range(0, frames, piece):
            f.write(segment(start, min(piece, frames - start)).astype("<f4").tobytes())
    os.replace(tmp, path)


def tile_material(source, path, copies):
    """`copies` times the samples of float WAV `source` (as written above), one after another."""
    with open(source, "rb") as f:
        head = f.read(len(wav_float_header(0, 1)))
        data = f.read()
    channels = struct.unpack("<H", head[22:24])[0]
    frames = len(data) // (4 * channels)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(wav_float_header(frames * copies, channels))
        for _ in range(copies):
            f.write(data)
    os.replace(tmp, path)


def make_material(work, long_too):
    stamp = os.path.join(work, "material-" + MATERIAL_VERSION)
    master = os.path.join(work, "master-10min.wav")
    tracks = [os.path.join(work, f"track{i:02d}.wav") for i in range(32)]
    if not os.path.exists(stamp):
        print("making material in", work, "(once)", flush=True)
        began = time.perf_counter()
        write_material(master, 600 * RATE, 2, master_segment)
        for i, path in enumerate(tracks):
            write_material(path, 180 * RATE, 1, lambda s, c, i=i: track_segment(i, s, c))
        open(stamp, "w").close()
        print(f"  {time.perf_counter() - began:.1f} s", flush=True)
    longer = os.path.join(work, "master-60min.wav")
    if long_too and not os.path.exists(longer):
        tile_material(master, longer, 6)
    return master, tracks, longer

# ---- running ----------------------------------------------------------------------------------


def warm(paths):
    """Reads the files through once, so that they are in the page cache."""
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while f.read(8 << 20):
                pass


def run(cmd, log, inputs=(), outputs=()):
    """Runs `cmd`, which reads the files `inputs` and writes `outputs`; returns (wall seconds, CPU
    seconds (user + system), peak RSS in MiB). Exits on failure, showing its stderr. The figures
    come from /usr/bin/time: a child forked from this Python process would report Python's own
    peak memory (Linux keeps it across exec)."""
    figures = log + ".time"
    # The outputs of the previous round go first (not timed): freeing a file's blocks is the
    # filesystem's work, not the tool's, and would land in the run that replaces it.
    for path in outputs:
        if os.path.exists(path):
            os.remove(path)
    # Every run starts without the file data the runs before it left for the kernel to write
    # back (sync, not timed): otherwise a tool pays for another's writeback, landing on its
    # cores in the middle of its run (ffmpeg's 173 MB output before W1-target's, in alternation).
    os.sync()
    # And with its inputs in the page cache (read once, not timed): a kernel that pages out
    # file data left idle for a while (this VM runs DAMON's proactive pageout) would otherwise
    # make the first tool of a round read them from the disk and the next ones from memory.
    warm(inputs)
    with open(log, "wb") as err:
        began = time.perf_counter()
        status = subprocess.call(["/usr/bin/time", "-f", "%U %S %M", "-o", figures] + cmd, stdin=subprocess.DEVNULL,
                                 stdout=err, stderr=err)
        wall = time.perf_counter() - began
    if status != 0:
        sys.stdout.write("FAILED: " + " ".join(cmd) + "\n" + open(log, errors="replace").read()[-3000:])
        sys.exit(1)
    user, system, rss = open(figures).read().split()[-3:]
    return wall, float(user) + float(system), float(rss) / 1024.0


FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
ONE_THREAD = ["-threads", "1", "-filter_threads", "1", "-filter_complex_threads", "1"]


def db_to_linear(db):
    return 10 ** (db / 20)


# W1 in ffmpeg's filters: highpass (2 poles = 12 dB/oct), lowshelf, equalizer (Q), highshelf,
# acompressor (linear threshold and makeup; knee 2 = 6 dB; peak detection like ours), alimiter
# (a sample-peak limiter at -1 dBFS; ffmpeg has no true-peak limiter; level=disabled: no auto gain).
W1_FFMPEG = ",".join([
    "highpass=f=30:poles=2",
    "lowshelf=f=100:g=1",
    "equalizer=f=3000:t=q:w=1:g=-1.5",
    "highshelf=f=10000:g=1.5",
    f"acompressor=threshold={db_to_linear(-18):.6f}:ratio=2:attack=10:release=100:knee=2:"
    f"makeup={db_to_linear(2):.6f}:detection=peak",
    f"alimiter=limit={db_to_linear(-1):.6f}:attack=5:release=50:level=disabled",
])
# W1 in SoX's effects, without the limiter (SoX has none with lookahead): highpass (2 poles),
# bass, equalizer, treble, compand (attack 10 ms, decay 100 ms, 6 dB soft knee, 2:1 above
# -18 dB, +2 dB).
W1_SOX = ["highpass", "30", "bass", "+1", "100", "equalizer", "3000", "1q", "-1.5", "treble", "+1.5", "10000",
          "compand", "0.01,0.1", "6:-90,-90,-18,-18,0,-9", "2"]


def w2_ffmpeg_filter():
    chains = []
    for i in range(32):
        pan = -1 + 2 * i / 31
        theta = (pan + 1) * np.pi / 4
        chains.append(
            f"[{i}:a]highpass=f=80:poles=2,equalizer=f={200 + 10 * i}:t=q:w=1:g=-2,"
            f"equalizer=f={1000 + 50 * i}:t=q:w=1.4:g=2,equalizer=f={5000 + 100 * i}:t=q:w=1:g=-1.5,"
            f"acompressor=threshold={db_to_linear(-30):.6f}:ratio=3:attack=5:release=80:knee=2:"
            f"makeup={db_to_linear(3):.6f}:detection=peak,"
            f"pan=stereo|c0={np.cos(theta):.6f}*c0|c1={np.sin(theta):.6f}*c0[a{i}]")
    mix = "".join(f"[a{i}]" for i in range(32)) + "amix=inputs=32:normalize=0,"
    mix += f"acompressor=threshold={db_to_linear(-20):.6f}:ratio=2:attack=20:release=200:knee=2:detection=peak[out]"
    return ";".join(chains + [mix])


def workloads(sg, ebur, master, tracks, out):
    w1 = os.path.join(ROOT, "tests/bench/graphs/w1.yaml")
    w2 = os.path.join(ROOT, "tests/bench/graphs/w2.yaml")
    o = lambda name: os.path.join(out, name)
    track_inputs = [a for i, p in enumerate(tracks) for a in ("-i", f"t{i}={p}")]
    ff_inputs = [a for p in tracks for a in ("-i", p)]
    analyze = [("stagegraph", [sg, "analyze", master, "--json"]),
               ("stagegraph (loudness only)", [sg, "analyze", master, "--json", "--figures", "loudness"]),
               ("ffmpeg ebur128", FFMPEG + ONE_THREAD + ["-i", master, "-af", "ebur128=peak=true", "-f", "null", "-"])]
    if ebur:
        analyze.insert(2, ("libebur128", [ebur, master]))
    return {
        "W1": [
            ("stagegraph", [sg, "render", w1, "-i", master, "-o", o("sg-w1.wav"), "--format", "wav24"]),
            ("ffmpeg -threads 1", FFMPEG + ONE_THREAD + ["-i", master, "-af", W1_FFMPEG, "-c:a", "pcm_s24le", o("ff-w1.wav")]),
            ("sox (no limiter)", ["sox", master, "-b", "24", o("sox-w1.wav")] + W1_SOX),
            ("sox copy (I/O floor)", ["sox", master, "-b", "24", o("sox-copy.wav")]),
        ],
        "W1-target": [
            ("stagegraph", [sg, "render", w1, "-i", master, "-o", o("sg-w1t.wav"), "--format", "wav24", "--target", "spotify",
                            "--report", o("sg-w1t.json")]),
            ("ffmpeg loudnorm -threads 1", FFMPEG + ONE_THREAD + ["-i", master, "-af", W1_FFMPEG + ",loudnorm=I=-14:TP=-1",
                                                                  "-ar", "48000", "-c:a", "pcm_s24le", o("ff-w1t.wav")]),
        ],
        "W2": [
            ("stagegraph", [sg, "render", w2] + track_inputs + ["-o", o("sg-w2.wav"), "--format", "wav24"]),
            ("ffmpeg -threads 1", FFMPEG + ONE_THREAD + ff_inputs + ["-filter_complex", w2_ffmpeg_filter(), "-map", "[out]",
                                                                      "-c:a", "pcm_s24le", o("ff-w2.wav")]),
            ("ffmpeg (threads auto)", FFMPEG + ff_inputs + ["-filter_complex", w2_ffmpeg_filter(), "-map", "[out]",
                                                             "-c:a", "pcm_s24le", o("ff-w2mt.wav")]),
        ],
        "analyze": analyze,
    }


def print_table(name, rows, runs):
    base = statistics.median(rows[0][1])
    base_cpu = statistics.median(rows[0][2])
    print(f"\n{name}  (medians of {runs} runs, whole process; ratio = tool / stagegraph)")
    print(f"  {'tool':28} {'wall s':>8} {'ratio':>7} {'min s':>7} {'CPU s':>7} {'ratio':>7} {'peak RSS MiB':>13}")
    for tool, walls, cpus, rss in rows:
        med, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"  {tool:28} {med:8.3f} {med / base:7.2f} {min(walls):7.3f} {cpu:7.2f} {cpu / max(base_cpu, 1e-9):7.2f} "
              f"{max(rss):13.1f}")


def analyze_json(sg, path):
    out = subprocess.run([sg, "analyze", path, "--json"], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    return data[0] if isinstance(data, list) else data


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--work", default=None, help="material and outputs (default BUILD/bench-compare)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="W1,W1-target,W2,analyze")
    parser.add_argument("--long", action="store_true", help="also 60 minutes: peak memory against length")
    parser.add_argument("--keep-outputs", action="store_true",
                        help="do not delete a tool's previous output before its run (each run replaces it)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    for tool in ("ffmpeg", "sox"):
        if not shutil.which(tool):
            sys.exit(f"bench_compare: {tool} is not installed (apt-get install {tool})")
    sg = os.path.join(args.build, "stagegraph")
    if not os.access(sg, os.X_OK):
        sys.exit(f"bench_compare: no {sg}: build first (make build)")
    ebur = os.path.join(args.build, "tests", "ebur128_file")
    ebur = ebur if os.access(ebur, os.X_OK) else None
    work = args.work or os.path.join(args.build, "bench-compare")
    os.makedirs(work, exist_ok=True)
    master, tracks, longer = make_material(work, args.long)
    out = tempfile.mkdtemp(prefix="out-", dir=work)
    logs = os.path.join(out, "log.txt")
    try:
        chosen = [w.strip() for w in args.only.split(",") if w.strip()]
        table = workloads(sg, ebur, master, tracks, out)
        for name in chosen:
            if name not in table:
                sys.exit(f"bench_compare: --only: unknown workload '{name}' (W1, W1-target, W2, analyze)")
        print(f"stagegraph {sg}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.runs} rounds, "
              "tools in alternation; " + ("each run replaces its tool's previous output" if args.keep_outputs else
                                          "previous outputs deleted before each run (not timed)"), flush=True)
        results = {name: [(tool, [], [], []) for tool, _ in table[name]] for name in chosen}
        inputs = {"W1": [master], "W1-target": [master], "W2": tracks, "analyze": [master]}
        for round_index in range(args.runs):
            for name in chosen:
                for k, (tool, cmd) in enumerate(table[name]):
                    outputs = [] if args.keep_outputs else [a for a in cmd if a.startswith(out + os.sep)]
                    wall, cpu, rss = run(cmd, logs, inputs[name], outputs)
                    results[name][k][1].append(wall)
                    results[name][k][2].append(cpu)
                    results[name][k][3].append(rss)
            print(f"  round {round_index + 1}/{args.runs} done (load average {os.getloadavg()[0]:.1f})", flush=True)
        for name in chosen:
            print_table(name, results[name], args.runs)
        if "W1-target" in chosen:
            print("\nW1-target outputs (target -14 LUFS, ceiling -1 dBTP)")
            report = json.load(open(os.path.join(out, "sg-w1t.json")))
            t = report["outputs"][0]["target"]
            print(f"  stagegraph pass 2: {t['pass2_runs']} runs, {t['output_encodes']} encoding, gain {t['gain_db']:+.2f} dB")
            for tool, path in (("stagegraph", "sg-w1t.wav"), ("ffmpeg loudnorm", "ff-w1t.wav")):
                a = analyze_json(sg, os.path.join(out, path))
                line = f"  {tool:18} stagegraph analyze: {a['integrated_lufs']:7.2f} LUFS, true peak {a['true_peak_dbtp']:6.2f} dBTP"
                if ebur:
                    i, _, tp = subprocess.run([ebur, os.path.join(out, path)], capture_output=True, text=True,
                                              check=True).stdout.split()
                    line += f"; libebur128: {float(i):7.2f} LUFS, {float(tp):6.2f} dBTP"
                print(line)
        if args.long:
            print("\npeak resident memory against length (one run each)")
            for label, path in (("10 min", master), ("60 min", longer)):
                w1 = os.path.join(ROOT, "tests/bench/graphs/w1.yaml")
                for what, cmd in (("render W1", [sg, "render", w1, "-i", path, "-o", os.path.join(out, "long.wav")]),
                                  ("render W1 --target", [sg, "render", w1, "-i", path, "-o", os.path.join(out, "long.wav"),
                                                          "--target", "spotify"]),
                                  ("analyze", [sg, "analyze", path])):
                    wall, cpu, rss = run(cmd, logs, [path])
                    print(f"  {what:20} {label}: {wall:7.2f} s wall, {cpu:7.2f} s CPU, peak RSS {rss:7.1f} MiB")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
