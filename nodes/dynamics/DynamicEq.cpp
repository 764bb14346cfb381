// dynamic_eq: one EQ band whose gain follows the level in that band, on the shared dynamics core
// (DynamicsCore.h). Parallel form y = x + (g - 1) B(x): B a constant-0-dB-peak band-pass gives a
// peak band (gain g at freq), a low-pass a low shelf, a high-pass a high shelf; g = 1 gives y = x.
#include "core/Registry.h"
#include "nodes/dynamics/DynamicsKernel.h"

namespace sg::dynamics {

namespace {

struct DynamicEqDecl : DynamicsDecl {
    DynamicEqDecl() : DynamicsDecl("dynamic_eq", Kind::DynamicEq) {
        shape = decl.param("shape")
                    .plain(0, 2)
                    .choices({kShapePeak, kShapeLowShelf, kShapeHighShelf})
                    .defaultValue(kShapePeak)
                    .describe("Band: 0 = peak (band-pass at freq, width q), 1 = low shelf (2nd-order Butterworth "
                              "low-pass), 2 = high shelf (high-pass).")
                    .stepped();
        freq = decl.param("freq")
                   .frequency(20, 20000)
                   .defaultValue(1000)
                   .describe("Centre (peak) or corner (shelves) frequency of the band.")
                   .stepped();
        q = decl.param("q")
                .plain(0.1, 10)
                .defaultValue(1)
                .describe("Width of the peak band (RBJ Q); shelves ignore it.")
                .stepped();
        mode = decl.param("mode")
                   .plain(0, 1)
                   .choices({kModeAbove, kModeBelow})
                   .defaultValue(kModeAbove)
                   .describe("0 = the gain moves while the band is above the threshold (compressor curve), 1 = while it "
                             "is below (expander curve).")
                   .stepped();
        threshold = decl.param("threshold")
                        .decibels(-80, 0)
                        .defaultValue(-24)
                        .describe("Level of the band (dBFS, of the detector) where the gain starts to move.")
                        .stepped();
        ratio = decl.param("ratio")
                    .ratio(1, 100)
                    .defaultValue(3)
                    .describe("Slope of the change: above (mode 0) 1 - 1/ratio dB per dB over the threshold; below "
                              "(mode 1) ratio - 1 dB per dB under it.")
                    .stepped();
        knee = decl.param("knee").decibels(0, 24).defaultValue(6).describe("Width of the quadratic soft knee.").stepped();
        range = decl.param("range")
                    .decibels(-24, 24)
                    .defaultValue(-6)
                    .describe("Largest gain change of the band and its direction: negative = cut, positive = boost.")
                    .stepped();
        attack = decl.param("attack")
                     .time(0, 500)
                     .defaultValue(5)
                     .describe("Time constant of a growing gain change (1 - 1/e of a step after `attack`).")
                     .stepped();
        release = decl.param("release")
                      .time(1, 5000)
                      .defaultValue(100)
                      .describe("Time constant of a gain change returning towards 0 dB.")
                      .stepped();
        listen = decl.param("listen")
                     .plain(0, 1)
                     .choices({0, 1})
                     .defaultValue(0)
                     .describe("1 = output the detector's band (the filtered sidechain or input).")
                     .stepped();
        declareDetector(10, 100);

        decl.describe("Dynamic EQ band: a peak or shelf band whose gain follows the level in that band, above or below "
                      "a threshold; sidechain input, listen mode.")
            .input("in", "signal, any number of channels")
            .input("sidechain", "optional key signal, 1 channel or as many as in; unconnected = key on in", false)
            .output("out", "equalised signal (or the detector band with listen = 1)")
            .channelRule("out has the channels of in; sidechain has 1 or in's channels")
            .batchable()
            .inPlace()
            .reference("y = x + (g - 1) B(x) (the parallel form of Regalia & Mitra, IEEE Trans. ASSP 35(1) 1987): B = RBJ "
                       "band-pass with 0 dB peak (peak band: gain g at freq), or a Butterworth low-pass / high-pass (low / high "
                       "shelf: gain g far below / above freq). Detector on B(sidechain or in), peak/rms over the window, linked. "
                       "Change magnitude target min(|range|, -G(X)), G = the compressor curve (mode 0) or the expander curve "
                       "(mode 1, slope ratio - 1 below T) with the quadratic knee (Giannoulis et al., JAES 2012); smoothed "
                       "one-pole in dB (attack growing, release shrinking); g = 10^(sign(range) C / 20). y = x exactly while "
                       "C = 0. Latency 0; tail = the band filter's 120 dB decay. Reports max_gain_change_db, "
                       "mean_gain_change_db (magnitudes) and the series gain_change_db (10 values/s, max).");
    }
};

} // namespace

void registerDynamicEq(Registry& registry) { registry.add(std::make_unique<DynamicsType>(declaration<DynamicEqDecl>())); }

} // namespace sg::dynamics
