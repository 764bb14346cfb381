// deesser: split-band de-esser on the shared dynamics core (DynamicsCore.h). The band above
// `freq` (2nd-order Butterworth high-pass b = B(x)) is compressed, the rest (x - b) untouched:
// y = x + (g - 1) b, so with no reduction y = x exactly. `listen` outputs the detector's band.
#include "core/Registry.h"
#include "nodes/dynamics/DynamicsKernel.h"

namespace sg::dynamics {

namespace {

struct DeEsserDecl : DynamicsDecl {
    DeEsserDecl() : DynamicsDecl("deesser", Kind::DeEsser) {
        freq = decl.param("freq")
                   .frequency(1000, 20000)
                   .defaultValue(6000)
                   .describe("Split frequency: the band above it (2nd-order Butterworth high-pass) is detected and reduced.")
                   .stepped();
        threshold = decl.param("threshold")
                        .decibels(-80, 0)
                        .defaultValue(-30)
                        .describe("Level of the high band (dBFS) above which it is reduced.")
                        .stepped();
        ratio = decl.param("ratio")
                    .ratio(1, 100)
                    .defaultValue(4)
                    .describe("Compression ratio of the high band above the knee.")
                    .stepped();
        knee =
            decl.param("knee").decibels(0, 24).defaultValue(3).describe("Width of the quadratic soft knee; 0 = hard.").stepped();
        range =
            decl.param("range").decibels(0, 40).defaultValue(12).describe("Largest reduction of the high band (dB).").stepped();
        attack = decl.param("attack")
                     .time(0, 100)
                     .defaultValue(1)
                     .describe("Time constant of a rising reduction (1 - 1/e of a step after `attack`).")
                     .stepped();
        release = decl.param("release")
                      .time(1, 1000)
                      .defaultValue(50)
                      .describe("Time constant of a falling reduction, from when the detector's level falls.")
                      .stepped();
        listen = decl.param("listen")
                     .plain(0, 1)
                     .choices({0, 1})
                     .defaultValue(0)
                     .describe("1 = output the detector's band (the high-passed sidechain or input) to tune `freq`.")
                     .stepped();
        declareDetector(2, 100);

        decl.describe("Split-band de-esser: the band above freq is compressed, the rest untouched (bands sum to the "
                      "input when nothing is reduced); listen mode; sidechain input.")
            .input("in", "signal, any number of channels")
            .input("sidechain", "optional key signal, 1 channel or as many as in; unconnected = key on in", false)
            .output("out", "de-essed signal (or the detector band with listen = 1)")
            .channelRule("out has the channels of in; sidechain has 1 or in's channels")
            .batchable()
            .inPlace()
            .reference("Band b = B(x), B = RBJ cookbook 2nd-order high-pass at freq, Q = 1/sqrt(2) (Butterworth); the rest is "
                       "x - b. Detector on B(sidechain or in), peak/rms over the window, linked as the compressor. Reduction "
                       "target min(range, -G(X)) with G the compressor's soft-knee curve (Giannoulis et al., JAES 2012), "
                       "smoothed one-pole in dB (attack rising, release falling, 1 - 1/e after tau). "
                       "y = (x - b) + g b = x + (g - 1) b, g = 10^(-C / 20): y = x exactly while C = 0. Listen: y = the "
                       "detector's band. Latency 0; tail = the high-pass's 120 dB decay. Reports max_gain_reduction_db, "
                       "mean_gain_reduction_db and the series gain_reduction_db (10 values/s, max).");
    }
};

} // namespace

void registerDeEsser(Registry& registry) { registry.add(std::make_unique<DynamicsType>(declaration<DeEsserDecl>())); }

} // namespace sg::dynamics
