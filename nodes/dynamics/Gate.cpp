// gate: a downward expander / noise gate on the shared dynamics core (DynamicsCore.h): open above
// the threshold, closing below threshold - hysteresis after a hold time, attenuating by the
// expander curve (ratio) limited to the range; sidechain input and sidechain high-pass.
#include "core/Registry.h"
#include "nodes/dynamics/DynamicsKernel.h"

namespace sg::dynamics {

namespace {

struct GateDecl : DynamicsDecl {
    GateDecl() : DynamicsDecl("gate", Kind::Gate) {
        threshold = decl.param("threshold")
                        .decibels(-120, 0)
                        .defaultValue(-50)
                        .describe("Opening threshold (dBFS, of the detector): at or above it the gate opens.")
                        .stepped();
        ratio = decl.param("ratio")
                    .ratio(1, 100)
                    .defaultValue(100)
                    .describe("Expansion below the threshold while closed: 1 dB under it gives (ratio - 1) dB of "
                              "attenuation; 100 = a gate, 2 = a gentle expander.")
                    .stepped();
        range = decl.param("range").decibels(0, 120).defaultValue(80).describe("Largest attenuation (dB) when closed.").stepped();
        attack = decl.param("attack")
                     .time(0, 500)
                     .defaultValue(1)
                     .describe("Opening time constant: the attenuation falls to 1/e of its step after `attack`.")
                     .stepped();
        hold = decl.param("hold")
                   .time(0, 2000)
                   .defaultValue(50)
                   .describe("How long the gate stays open after the level falls under threshold - hysteresis.")
                   .stepped();
        release = decl.param("release")
                      .time(1, 5000)
                      .defaultValue(100)
                      .describe("Closing time constant: the attenuation reaches 1 - 1/e of its step after `release`.")
                      .stepped();
        hysteresis = decl.param("hysteresis")
                         .decibels(0, 24)
                         .defaultValue(4)
                         .describe("An open gate closes only under threshold - hysteresis (after the hold).")
                         .stepped();
        sidechainHighpass = decl.param("sidechain_hpf")
                                .frequency(0, 2000)
                                .defaultValue(0)
                                .describe("Cutoff of a 2nd-order Butterworth high-pass on the detector path only; 0 = off.")
                                .stepped();
        declareDetector(5, 100);

        decl.describe("Noise gate / downward expander: threshold with hysteresis, hold, ratio or range, attack and "
                      "release, sidechain input with high-pass, stereo link.")
            .input("in", "signal, any number of channels")
            .input("sidechain", "optional key signal, 1 channel or as many as in; unconnected = key on in", false)
            .output("out", "gated signal")
            .channelRule("out has the channels of in; sidechain has 1 or in's channels")
            .batchable()
            .inPlace()
            .reference("Detector and link as the compressor. State per channel: open when X >= T; an open gate stays open while "
                       "X >= T - H (hysteresis), then for `hold` more frames, then closes. Attenuation target A = 0 when open, "
                       "else min(range, (R - 1)(T - X)) (for X < T; 0 above). Smoothing of A in dB: A[n] = A* + a (A[n-1] - A*), "
                       "a = exp(-1 / (tau fs)), tau = release while A rises (closing), attack while it falls (opening). "
                       "y = x 10^(-A / 20); an open, settled gate passes x bit for bit. Latency 0, tail 0 (y = g x). Reports "
                       "max_gain_reduction_db, mean_gain_reduction_db and the series gain_reduction_db (10 values/s, max).");
    }
};

} // namespace

void registerGate(Registry& registry) { registry.add(std::make_unique<DynamicsType>(declaration<GateDecl>())); }

} // namespace sg::dynamics
