"""Bad graphs raise GraphError with every diagnostic and its position; bad arrays, rates and
settings raise TypeError or ValueError that say what was expected."""

import pickle

import numpy as np
import pytest

import stagegraph
from conftest import graph_path, run_cli

BAD = """stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {master: {channels: 2}}
nodes:
  eq: {type: peek, freq: 3 kHz}
  comp: {type: compressor, attack: 3 dB}
  trim: {type: gain, gian: 1 dB}
connections:
  - mix -> comp -> trim -> master
"""


def test_bad_graph_reports_every_error_with_positions(tmp):
    path = tmp / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(stagegraph.GraphError) as info:
        stagegraph.Graph.load(str(path))
    found = {d.line: d for d in info.value.diagnostics}
    assert "peek" in found[5].message and found[5].column == BAD.splitlines()[4].index("peek") + 1
    assert "attack" in found[6].message and found[6].column == BAD.splitlines()[5].index("3 dB") + 1
    assert "gian" in found[7].message and found[7].column == BAD.splitlines()[6].index("gian") + 1
    assert all(d.file == str(path) for d in info.value.diagnostics)
    assert isinstance(info.value, ValueError)
    # The same diagnostics, line for line, as `stagegraph check` prints them.
    check = run_cli("check", path, check=False)
    assert check.returncode == 2
    assert str(info.value).splitlines() == [line for line in check.stderr.splitlines() if ": error: " in line]
    # Errors pickle (Dask and multiprocessing send them back from workers).
    again = pickle.loads(pickle.dumps(info.value))
    assert again.diagnostics == info.value.diagnostics and str(again) == str(info.value)


def test_from_yaml_errors_name_the_given_name():
    with pytest.raises(stagegraph.GraphError) as info:
        stagegraph.Graph.from_yaml(BAD, name="inline.yaml")
    assert {d.file for d in info.value.diagnostics} == {"inline.yaml"}
    assert "unknown node type 'peek'" in str(info.value)


def test_unreadable_graph_file(tmp):
    with pytest.raises(stagegraph.GraphError, match="cannot read graph file"):
        stagegraph.Graph.load(str(tmp / "missing.yaml"))
    with pytest.raises(stagegraph.GraphError, match="a folder"):
        stagegraph.Graph.load(str(tmp))


def test_bad_settings_raise_and_leave_the_graph_unchanged():
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    x = np.zeros((2, 2000), np.float32)
    x[:, 100] = 0.5
    before = g.process(x, 48000)
    with pytest.raises(stagegraph.GraphError, match="expected a gain"):
        g.set("trim.gain", "3 Hz")
    with pytest.raises(stagegraph.GraphError, match="nope"):
        g.set("nope.gain", 1)
    with pytest.raises(stagegraph.GraphError, match="trim"):
        g.set("trim.gian", 1)
    with pytest.raises(stagegraph.GraphError):
        g.set("trim.gain", 1000)  # out of range
    with pytest.raises(TypeError):
        g.set("trim.gain", [1])
    with pytest.raises(ValueError):
        g.set("trim.gain", float("nan"))
    assert g.settings == {}
    assert np.array_equal(g.process(x, 48000), before)


def test_wrong_arrays_raise_clear_errors():
    g = stagegraph.Graph.load(graph_path("mastering/streaming.yaml"))
    good = np.zeros((2, 100), np.float32)
    with pytest.raises(TypeError, match="float32.*astype"):
        g.process(good.astype(np.float64), 48000)
    with pytest.raises(TypeError, match="float32"):
        g.process(good.astype(np.int16), 48000)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        g.process([[0.0] * 100] * 2, 48000)
    with pytest.raises(ValueError, match=r"2-D.*\(100,\).*newaxis"):
        g.process(np.zeros(100, np.float32), 48000)
    with pytest.raises(ValueError, match="2 channels.*x.T"):
        g.process(np.zeros((100, 2), np.float32), 48000)
    with pytest.raises(ValueError, match="2 channels"):
        g.process(np.zeros((1, 100), np.float32), 48000)
    with pytest.raises(ValueError, match="no input 'mx'.*'mix'"):
        g.process({"mx": good}, 48000)
    with pytest.raises(ValueError, match="has inputs"):
        g.process(None, 48000)
    for rate in (0, -48000, 44100.5, float("nan"), 10**7):
        with pytest.raises(ValueError, match="sample_rate"):
            g.process(good, rate)
    stems = stagegraph.Graph.load(graph_path("mixing/four-stems.yaml"))
    with pytest.raises(ValueError, match="4 inputs.*dict"):
        stems.process(np.zeros((1, 100), np.float32), 48000)
    with pytest.raises(ValueError, match="no signal for graph input 'bass'"):
        stems.process({n: np.zeros((1, 10), np.float32) for n in ("kick", "guitar", "vocal")}, 48000)
    with pytest.raises(ValueError, match="block"):
        g.processor(48000, block=0)
    with pytest.raises(TypeError, match="frames"):
        g.process(good, 48000, frames=1.5)
    with pytest.raises(ValueError, match="frames"):
        g.process(good, 48000, frames=-1)
    # Non-contiguous views are accepted (copied), not refused.
    wide = np.zeros((2, 200), np.float32)
    assert g.process(wide[:, ::2], 48000).shape == (2, 100)


def test_non_finite_output_raises_processing_error():
    g = stagegraph.Graph.from_yaml("""stagegraph: 1
inputs: {x: {channels: 1}}
outputs: {y: {channels: 1}}
connections:
  - x -> y
""")
    x = np.zeros((1, 3000), np.float32)
    x[0, 2500] = np.inf
    with pytest.raises(stagegraph.ProcessingError, match="frame 2500"):
        g.process(x, 48000)


def test_bad_audio_files_name_the_file(tmp):
    with pytest.raises(stagegraph.AudioFileError, match="missing.wav"):
        stagegraph.analyze_file(tmp / "missing.wav")
    (tmp / "junk.wav").write_bytes(b"RIFF not really")
    with pytest.raises(OSError, match="junk.wav"):
        stagegraph.read_audio(str(tmp / "junk.wav"))
    with pytest.raises(ValueError, match="format"):
        stagegraph.write_audio(str(tmp / "x.mp4"), np.zeros((1, 10), np.float32), 48000)
    with pytest.raises(stagegraph.AudioFileError):
        stagegraph.write_audio(str(tmp / "no-such-dir" / "x.wav"), np.zeros((1, 10), np.float32), 48000)
    with pytest.raises(ValueError, match="oversampling"):
        stagegraph.analyze(np.zeros((1, 10), np.float32), 48000, oversampling=3)
    with pytest.raises(ValueError, match="non-finite"):
        stagegraph.analyze(np.full((1, 10), np.nan, np.float32), 48000)
