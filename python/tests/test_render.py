"""Graph.process against the `stagegraph render` command, bit for bit, and analyze against
`stagegraph analyze --json`."""

import numpy as np
import pytest

import stagegraph
from conftest import analyze_json, graph_path, noise, read_wav_float, render, write_wav_float


def test_mastering_graph_equals_render(tmp):
    x = noise(2, 72000)
    write_wav_float(tmp / "mix.wav", x, 48000)
    expected = render(graph_path("mastering/streaming.yaml"), [tmp / "mix.wav"], tmp / "master.wav")
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    y = g.process(x, 48000)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.array_equal(y, expected)
    assert g.latency_frames(48000) > 0  # the limiter's lookahead was trimmed, as render trims it


def test_graph_with_included_file_and_settings_equals_render(tmp):
    x = noise(2, 30000, seed=2)
    write_wav_float(tmp / "mix.wav", x, 44100)
    expected = render(graph_path("mastering/loud-club.yaml"), [tmp / "mix.wav"], tmp / "club.wav",
                      "--set", "drive.gain=6dB", "--set", "mb.sum.gain=1 dB")
    g = stagegraph.Graph.load(graph_path("mastering/loud-club.yaml"))
    assert any(f.endswith("multiband.yaml") for f in g.files)
    g.set("drive.gain", 6)  # a number is in the parameter's base unit (dB)
    g.set("mb.sum.gain", "1 dB")
    assert np.array_equal(g.process(x, 44100), expected)
    # The settings change the output: the comparison above is not vacuous.
    assert not np.array_equal(stagegraph.Graph.load(graph_path("mastering/loud-club.yaml")).process(x, 44100), expected)


def test_named_inputs_of_different_lengths_equal_render(tmp):
    lengths = {"kick": 20000, "bass": 26000, "guitar": 9000, "vocal": 24000}
    stems = {name: noise(1, n, seed=i + 10) for i, (name, n) in enumerate(lengths.items())}
    for name, x in stems.items():
        write_wav_float(tmp / f"{name}.wav", x, 48000)
    expected = render(graph_path("mixing/four-stems.yaml"), [f"{n}={tmp / (n + '.wav')}" for n in stems], tmp / "mix.wav")
    g = stagegraph.Graph.load(graph_path("mixing/four-stems.yaml"))
    assert g.inputs == {"kick": 1, "bass": 1, "guitar": 1, "vocal": 1} and g.outputs == {"mix": 2}
    y = g.process(stems, 48000)
    assert y.shape == (2, 26000)  # as long as the longest input
    assert np.array_equal(y, expected)


def test_graph_without_inputs_equals_render_with_duration(tmp):
    text = """stagegraph: 1
outputs: {out: {channels: 2}}
nodes:
  tone: {type: sine, freq: 997 Hz, level: -6 dB, channels: 2}
  hiss: {type: noise, level: -40 dB, seed: 7, channels: 2}
  eq: {type: highshelf, freq: 5 kHz, gain: 3 dB}
connections:
  - tone -> eq -> out
  - hiss -> eq
"""
    (tmp / "tone.yaml").write_text(text)
    expected = render(tmp / "tone.yaml", [], tmp / "tone.wav", "--duration", "0.5")
    g = stagegraph.Graph.from_yaml(text, base_dir=str(tmp))
    y = g.process(None, 48000, frames=24000)
    assert np.array_equal(y, expected)


def test_analyze_file_equals_analyze_json(tmp):
    x = noise(2, 96000, seed=3)
    write_wav_float(tmp / "a.wav", x, 48000)
    expected = analyze_json(tmp / "a.wav")
    assert stagegraph.analyze_file(tmp / "a.wav") == {**expected, "file": str(tmp / "a.wav")}
    figures = stagegraph.analyze(x, 48000)
    assert figures == {**expected, "file": None}
    assert set(figures) >= {"file", "sample_rate", "channels", "duration_s", "integrated_lufs", "loudness_range_lu",
                            "true_peak_dbtp", "sample_peak_dbfs", "max_momentary_lufs", "max_short_term_lufs", "plr_db"}
    # Sample peak by formula: 20 log10 max |x|.
    assert figures["sample_peak_dbfs"] == pytest.approx(20 * np.log10(np.abs(x).max()), abs=0.001)
    silent = stagegraph.analyze(np.zeros((1, 48000), np.float32), 48000)
    assert silent["integrated_lufs"] is None and silent["sample_peak_dbfs"] is None


def test_analyze_loudness_figures_equal_the_full_ones(tmp):
    x = noise(2, 96000, seed=5)
    write_wav_float(tmp / "b.wav", x, 44100)
    full = stagegraph.analyze_file(tmp / "b.wav")
    loud = stagegraph.analyze_file(tmp / "b.wav", figures="loudness")
    assert loud == {k: v for k, v in full.items() if k in loud}
    assert "band_1khz_db" in full and not any(k.startswith("band_") or k == "harshness_db" for k in loud)
    assert {"integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "crest_factor_db"} <= set(loud)
    assert stagegraph.analyze(x, 44100, figures="loudness") == {**loud, "file": None}
    with pytest.raises(ValueError, match="figures"):
        stagegraph.analyze(x, 44100, figures="bands")


def test_read_and_write_audio(tmp):
    x = noise(2, 5000, seed=4)
    write_wav_float(tmp / "in.wav", x, 44100)
    y, rate = stagegraph.read_audio(str(tmp / "in.wav"))
    assert rate == 44100 and np.array_equal(y, x)
    stagegraph.write_audio(str(tmp / "out.wav"), x, 44100, format="wav32f")
    z, rate = read_wav_float(tmp / "out.wav")
    assert rate == 44100 and np.array_equal(z, x)
    assert [p.name for p in tmp.iterdir() if p.name.startswith(".")] == []  # no temporary file left
