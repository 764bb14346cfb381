// Graphs shared by the benchmarks, so every benchmark measures the same thing.
#pragma once

#include <string>

namespace sg::bench {

/// The 32-strip mixing benchmark: `strips` mono strips (highpass, two bells, high shelf, fader,
/// pan) from a template, summed on a stereo bus.
inline std::string stripsGraph(int strips) {
    std::string y = "stagegraph: 1\nname: strips\ninputs:\n";
    for (int i = 0; i < strips; ++i) y += "  t" + std::to_string(i) + ": {channels: 1}\n";
    y += "outputs:\n  mix: {channels: 2}\ntemplates:\n  strip:\n    params: {hp: 40 Hz, f: 1 kHz, level: 0 dB, pan: 0 %}\n"
         "    inputs: {in: {channels: 1}}\n    outputs: {out: {channels: 2}}\n    nodes:\n"
         "      hpf: {type: highpass, freq: $hp}\n      mud: {type: peak, freq: 300 Hz, gain: -2 dB}\n"
         "      bell: {type: peak, freq: $f, gain: 2 dB}\n      air: {type: highshelf, freq: 10 kHz, gain: 1 dB}\n"
         "      fader: {type: gain, gain: $level}\n      pan: {type: pan, pan: $pan}\n"
         "    connections:\n      - in -> hpf -> mud -> bell -> air -> fader -> pan -> out\nnodes:\n";
    for (int i = 0; i < strips; ++i)
        y += "  s" + std::to_string(i) + ": {use: strip, hp: " + std::to_string(30 + i) +
             " Hz, f: " + std::to_string(500 + 100 * i) + " Hz, level: -" + std::to_string(i % 7) +
             " dB, pan: " + std::to_string(-80 + 5 * i) + " %}\n";
    y += "  bus: {type: gain, gain: -6 dB}\nconnections:\n";
    for (int i = 0; i < strips; ++i) y += "  - t" + std::to_string(i) + " -> s" + std::to_string(i) + " -> bus\n";
    y += "  - bus -> mix\n";
    return y;
}

} // namespace sg::bench
