// compressor: feed-forward downward compressor on the shared dynamics core (DynamicsCore.h):
// peak or rms detector over a window, optional sidechain input and sidechain high-pass, quadratic
// soft knee (Giannoulis, Massberg & Reiss, JAES 2012), one-pole attack / release on the gain
// reduction in dB, optional program-dependent (dual time constant) release, stereo link, makeup.
#include "core/Registry.h"
#include "nodes/dynamics/DynamicsKernel.h"

namespace sg::dynamics {

namespace {

struct CompressorDecl : DynamicsDecl {
    CompressorDecl() : DynamicsDecl("compressor", Kind::Compressor) {
        threshold = decl.param("threshold")
                        .decibels(-80, 0)
                        .defaultValue(-18)
                        .describe("Level (dBFS, of the detector) above which the gain is reduced.")
                        .stepped();
        ratio = decl.param("ratio")
                    .ratio(1, 100)
                    .defaultValue(4)
                    .describe("Above the knee, every `ratio` dB of level in gives 1 dB out.")
                    .stepped();
        knee = decl.param("knee")
                   .decibels(0, 24)
                   .defaultValue(6)
                   .describe("Width W of the quadratic soft knee centred on the threshold; 0 = hard knee.")
                   .stepped();
        attack = decl.param("attack")
                     .time(0, 500)
                     .defaultValue(10)
                     .describe("Time constant of a rising gain reduction: a step is covered to 1 - 1/e (63.2 %) after "
                               "`attack`. 0 = instant.")
                     .stepped();
        release = decl.param("release")
                      .time(1, 5000)
                      .defaultValue(100)
                      .describe("Time constant of a falling gain reduction (to 1 - 1/e of the step after `release`), "
                                "counted from when the detector's level falls (a peak holds for the window first).")
                      .stepped();
        autoRelease = decl.param("auto_release")
                          .plain(0, 1)
                          .choices({0, 1})
                          .defaultValue(0)
                          .describe("1 = program-dependent release: a slow path (attack 5 x release, release 10 x "
                                    "release) holds the reduction after sustained compression; short peaks still "
                                    "release with `release`. Switched on mid-stream, the slow path starts from the "
                                    "reduction of that moment.")
                          .stepped();
        makeup = decl.param("makeup")
                     .decibels(-24, 40)
                     .defaultValue(0)
                     .describe("Gain added after the reduction, smoothed over 20 ms.")
                     .smoothingMs(20);
        sidechainHighpass = decl.param("sidechain_hpf")
                                .frequency(0, 2000)
                                .defaultValue(0)
                                .describe("Cutoff of a 2nd-order Butterworth high-pass on the detector path only (the "
                                          "audio is not filtered); 0 = off.")
                                .stepped();
        declareDetector(10, 100);

        decl.describe("Feed-forward compressor: peak or rms detector, soft knee, attack/release on the gain in dB, "
                      "sidechain input with high-pass, stereo link, makeup, optional auto release.")
            .input("in", "signal, any number of channels")
            .input("sidechain", "optional key signal, 1 channel or as many as in; unconnected = key on in", false)
            .output("out", "compressed signal")
            .channelRule("out has the channels of in; sidechain has 1 or in's channels")
            .batchable()
            .inPlace()
            .reference(
                "Detector per channel: d = sidechain (or in), high-passed if sidechain_hpf > 0; L = 20 log10 max|d| over "
                "the last W frames (peak) or 10 log10 mean(d^2) over W frames (rms); linked X_c = L_c + k (max_j L_j - L_c), "
                "k = link. Static curve (Giannoulis, Massberg & Reiss, JAES 60(6) 2012, eq. 4): gain change G(X) = 0 for "
                "X < T - W/2, (1/R - 1)(X - T + W/2)^2 / (2W) in the knee, (1/R - 1)(X - T) above T + W/2. Smoothing of "
                "the reduction C (dB): C[n] = T + a (C[n-1] - T), a = exp(-1 / (tau fs)), tau = attack while it rises, "
                "release while it falls, so a step is covered to 1 - 1/e after tau. Auto release: a slow copy with "
                "tau = 5 x release rising, 10 x release falling; the reduction is the larger of the two. "
                "y = x 10^((makeup - C) / 20). Latency 0, tail 0 (y = g x). Reports max_gain_reduction_db, "
                "mean_gain_reduction_db (over frames, the largest of the channels) and the series gain_reduction_db "
                "(10 values/s, max per window).");
    }
};

} // namespace

void registerCompressor(Registry& registry) { registry.add(std::make_unique<DynamicsType>(declaration<CompressorDecl>())); }

} // namespace sg::dynamics
