// Internal to nodes/dynamics: the declaration shape shared by the dynamics types and the type
// class that runs them all on one kernel (DynamicsCore.cpp). The maths is in DynamicsCore.h.
#pragma once

#include "core/Node.h"
#include "core/ParamDecl.h"
#include "core/Simd.h"
#include "nodes/dynamics/DynamicsCore.h"

#include <cstdint>
#include <memory>
#include <string>

namespace sg::dynamics {

/// What a type does with its gain change.
enum class Kind {
    Compressor, ///< full band, downward above the threshold, makeup, auto release
    Gate,       ///< full band, downward below the threshold, hold and hysteresis
    DeEsser,    ///< split band: a high-passed band compressed, the rest untouched, listen
    DynamicEq,  ///< split band: a band-passed or shelf band cut or boosted above / below threshold
};

/// Detector modes (`detector` parameter).
inline constexpr double kDetectorPeak = 0, kDetectorRms = 1;
/// dynamic_eq band shapes (`shape` parameter).
inline constexpr double kShapePeak = 0, kShapeLowShelf = 1, kShapeHighShelf = 2;
/// dynamic_eq modes (`mode` parameter).
inline constexpr double kModeAbove = 0, kModeBelow = 1;
/// Largest detector window in ms (sliding maximum / box mean).
inline constexpr double kMaxWindowMs = 100;
/// Values per second of the gain reduction series.
inline constexpr double kSeriesPerSecond = 10;

/// Handles of every parameter a dynamics type may declare; those it lacks stay invalid.
/// Member order is irrelevant: each type's constructor declares its parameters in table order.
struct DynamicsDecl {
    DynamicsDecl(const char* name, Kind kindOfType) : decl(name, "dynamics"), kind(kindOfType) {}
    NodeDecl decl;
    Kind kind;
    SteppedParam threshold, ratio, knee, range, attack, hold, release, hysteresis, autoRelease, link, sidechainHighpass, freq, q,
        shape, mode, listen;
    SmoothedParam makeup;
    FixedParam detector, window;

    /// The parameters every type shares, declared in this order: detector, window, link.
    void declareDetector(double defaultWindowMs, double defaultLinkPercent);
};

/// A dynamics node type: its declaration plus channel rule (sidechain 1 or in's channels),
/// tail, batch key and the shared kernel.
class DynamicsType final : public DeclaredNodeType {
public:
    explicit DynamicsType(const DynamicsDecl& declaration) : DeclaredNodeType(declaration.decl.info()), d_(declaration) {}
    std::string resolveChannels(const ParamValues& params, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override;
    double tailSeconds(const ParamValues& params, double sampleRate) const override;
    std::unique_ptr<NodeKernel> createKernel() const override;

private:
    const DynamicsDecl& d_;
};

/// Registration of each type (Compressor.cpp, Gate.cpp, DeEsser.cpp, DynamicEq.cpp).
void registerCompressor(Registry& registry);
void registerGate(Registry& registry);
void registerDeEsser(Registry& registry);
void registerDynamicEq(Registry& registry);

} // namespace sg::dynamics

// SIMD kernels of the dynamics core (DynamicsCore.simd.cpp, one copy per architecture; float and
// double operations only, no FMA, the scalar tails do the same operations, so every architecture
// and every split gives the same bits).
//
// out[n] = min(range, -G(x[n])) (the target change T, dB >= 0), n < frames, G the soft-knee curve
// in float (DynamicsCore.h): compressor (expand = false, slope = 1/r - 1) or expander (expand =
// true, slope = r - 1), threshold t, knee w (0 = hard).
SG_SIMD_DECLARE(void staticTargets(const float* x, int frames, float t, float slope, float w, float range, bool expand,
                                   float* out) noexcept)

// out[n] = staticTargets of max(gainToDecibels(x[n]) * scale, floor) (Elementwise's dB pass and
// staticTargets in one pass: the same float operations, so the same bits). Compressor curves
// (expand = false): where a whole vector of |x| is at most `quiet`, the caller's bound for levels
// below the knee (sg::dynamics::quietLevel), the target is written without the log; -1 = never.
SG_SIMD_DECLARE(void levelTargets(const float* x, int frames, float scale, float floor, float t, float slope, float w,
                                  float range, bool expand, float quiet, float* out) noexcept)

// y[n] = x[n] * g[n], g = Elementwise::offsetDecibelsToGain(db, sign, offset, constant) (its pass
// and multiplyByCurve in one: the same float operations, so the same bits). y may alias x.
SG_SIMD_DECLARE(void applyDecibelGain(const float* x, const float* db, float sign, const float* offset, float constant, float* y,
                                      int frames) noexcept)

namespace sg::dynamics {

/// The largest level (before the dB: a peak, or a mean square with scale 1/2) that levelTargets'
/// compressor curve (threshold t, knee w) surely puts below the knee whatever the rounding of
/// the dB and of the curve, or -1 if none is sure: 10^((t - w/2 - margin) / (20 scale)), margin
/// 1e-3 dB + 1e-5 of |t| + |w| (gainToDecibels is within half an ulp + 1e-6 dB of exact; the
/// curve's float subtraction rounds by less than an ulp of t - x). Not when the floor could be
/// at or above the knee.
float quietLevel(double t, double w, double scale, double floorDb) noexcept;

/// Lanes smoothed together by smoothChanges: any lanes, of any instances (each has its own
/// coefficients), so the recursion runs across lanes.
inline constexpr int kSmoothLanes = 16;

/// Per-lane coefficients of smoothChanges, a = exp(-1 / (tau fs)) for rising and falling
/// targets, of the main and the slow (auto release) path; autoRelease 1 or 0.
struct SmoothCoefficients {
    alignas(64) double rise[kSmoothLanes], fall[kSmoothLanes], riseRest[kSmoothLanes], fallRest[kSmoothLanes];
    alignas(64) double slowRise[kSmoothLanes], slowFall[kSmoothLanes], slowRiseRest[kSmoothLanes], slowFallRest[kSmoothLanes];
    alignas(64) double autoRelease[kSmoothLanes];
};

/// A smoothed change this small (dB) is exactly 0, so a released gain returns to exactly 1.
inline constexpr double kSnapDb = 1e-7;

} // namespace sg::dynamics

// The attack / release recursion of `lanes` (<= kSmoothLanes) lanes at once, targets[l][n] -> out[l][n]
// (out[l] may be targets[l]; the state is double, out is rounded to float):
//   C' = (1 - a) T + a C, a = rise when T > C else fall; C' = 0 when C < kSnapDb and T < kSnapDb;
//   the slow path S likewise with the slow factors; out = max(C', S') where autoRelease, else C'.
// `change` and `slow` ([kSmoothLanes]) carry C and S from call to call. S advances only in calls
// where some lane has autoRelease (no output reads it otherwise); the caller starts a lane's S
// from its C when its auto release is switched on.
SG_SIMD_DECLARE(void smoothChanges(const float* const* targets, int lanes, int frames, const sg::dynamics::SmoothCoefficients& k,
                                   double* change, double* slow, float* const* out) noexcept)

namespace sg::dynamics {
/// The static curve of compressOneLane: levelTargets' arguments (a compressor's curve).
struct OneLaneCurve {
    float scale = 1, floor = 0, threshold = 0, slope = 0, knee = 0, range = 0, quiet = -1;
};
} // namespace sg::dynamics

// One recursion lane whose gain every channel shares (a stereo compressor with one level, as
// W1's): levelTargets of the level before the dB `raw`, smoothChanges of the one lane (no auto
// release; `change` its state) into `changes`, and applyDecibelGain (offset none, `constant` the
// makeup) of `channels` channels x -> y, interleaved a few frames at a time. The recursion is a
// latency chain of about 6 cycles a frame that leaves most of the core idle; the vector passes
// run in its shadow instead of after it. The same float operations on every value as the three
// passes (the targets in runs of four batches from the first frame, as levelTargets takes them):
// the same bits. y may alias x.
SG_SIMD_DECLARE(void compressOneLane(const float* raw, int frames, const sg::dynamics::OneLaneCurve& curve,
                                     const sg::dynamics::SmoothCoefficients& k, double* change, float* changes, float sign,
                                     float constant, const float* const* x, float* const* y, int channels) noexcept)

// Measurements of `frames` frames' changes f (dB): most = max(most, f[n]); sums[j] += f[n] (in
// double, in frame order) for the frames whose count since reset, first + n, is j modulo 8, so the
// sums do not depend on how the frames were split into calls.
SG_SIMD_DECLARE(void changeStatistics(const float* f, int frames, std::int64_t first, double* sums, float* most) noexcept)

// changeStatistics of two series over the same frames, interleaved: the sums are latency chains
// (one add per accumulator every eight frames), and two independent ones overlap. Each series'
// results are those of its own changeStatistics call, bit for bit.
SG_SIMD_DECLARE(void changeStatisticsPair(const float* f0, const float* f1, int frames, std::int64_t first, double* sums0,
                                          double* sums1, float* most0, float* most1) noexcept)

// applyDecibelGain and changeStatistics of its changes db in one pass (the changes are read once,
// and the sums' latency chains run beside the exp): y and the statistics are those of the two
// calls, bit for bit. Calls whose first frame count is not a multiple of 8 make the two calls.
SG_SIMD_DECLARE(void applyDecibelGainMeasured(const float* x, const float* db, float sign, const float* offset, float constant,
                                              float* y, int frames, std::int64_t first, double* sums, float* most) noexcept)

namespace sg::dynamics {

/// Lanes of one slidingMaximumLanes call (idle lanes read zeros and write a scratch).
inline constexpr int kMaxLanes = 16;

/// The state of kMaxLanes sliding maxima that share one window W and one frame count since reset
/// (so one chunk position): SlidingMaximum's state, frame-major, lane-minor. chunk [W * kMaxLanes],
/// suffix [(W + 1) * kMaxLanes] (row W stays 0), prefix [kMaxLanes]; all zero and at = 0 at reset.
struct MaxLanesState {
    int window = 1, at = 0;
    float *chunk = nullptr, *suffix = nullptr, *prefix = nullptr;
};

} // namespace sg::dynamics

// SlidingMaximum::process of kMaxLanes lanes at once: out[l][n] = max |x[l]| over the last W frames,
// with the operations of the scalar version in the same order per lane (a max tree over groups of 4
// frames from the same chunk positions), so every lane's values are the scalar ones bit for bit,
// NaN included (std::max(a, b) = a < b ? b : a, lane by lane). out[l] may be x[l].
SG_SIMD_DECLARE(void slidingMaximumLanes(sg::dynamics::MaxLanesState& state, const float* const* x, int frames,
                                         float* const* out) noexcept)

// SlidingMaximum's two scans in vectors (DynamicsCore.cpp), where the order of the maxima cannot
// matter: on values that are neither NaN nor denormal (a denormal compares as 0 under the
// executor's flush-to-zero, so which of two "equal" values a max keeps would depend on order).
// slidingMaximumRun: whole batches from the start, up to the first batch of |x| that holds such a
// value: chunk[i] = |x[i]|, prefix = max(prefix, chunk[i]), out[i] = std::max(suffixNext[i], prefix)
// (a NaN in suffixNext is kept, as there); returns the frames done, a multiple of 4, and the
// caller's scalar loop does the rest from there as before. out may be x.
SG_SIMD_DECLARE(int slidingMaximumRun(const float* x, int count, float* chunk, const float* suffixNext, float& prefix,
                                      float* out) noexcept)
// suffix[k] = max(0, chunk[k .. w)) for k < w; false, with nothing written, if a chunk value is
// NaN or denormal (the caller's scalar loop then decides).
SG_SIMD_DECLARE(bool slidingMaximumSuffix(const float* chunk, int w, float* suffix) noexcept)
