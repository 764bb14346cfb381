// The node authoring kit itself: fluent declarations and handle lookup (core/ParamDecl.h), the
// kernel base's clamping, smoothing and queued changes (core/DeclaredKernel.h), and the shared
// element-wise kernels against their formulas (core/Elementwise.h).
#include "core/DeclaredKernel.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace sg;
using namespace sg::nodetest;

namespace {

/// A probe node: lane 0 of its output is the smoothed `level` frame by frame, lane 1 the stepped
/// `step`, lane 2 the fixed `mode`, each of the instance's last stage; input is ignored.
struct ProbeDecl {
    NodeDecl decl{"probe", "utility"};
    SmoothedParam level = decl.param("level").plain(-10, 10).defaultValue(1).describe("smoothed").smoothingMs(10);
    SteppedParam step = decl.param("step").plain(0, 100).defaultValue(5).wholeNumber().describe("stepped").stepped();
    FixedParam mode = decl.param("mode").plain(1, 4).choices({1, 2, 3, 4}).defaultValue(2).describe("fixed").fixed();
    ProbeDecl() { decl.describe("probe").input("in", "ignored").output("out", "3 lanes of parameter values"); }
};

class ProbeKernel final : public DeclaredKernelOf<ProbeDecl> {
public:
    int changes = 0; ///< paramChanged calls

private:
    void paramChanged(int, int, std::int64_t) noexcept override { ++changes; }
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            float* const* out = ctx.outputs[0] + lanes(i).firstOutput;
            const int last = firstStage(i + 1) - 1;
            for (int n = 0; n < frames; ++n) {
                out[0][start + n] = float(ramp(last, p().level).valueAt(ctx.position + start + n));
                out[1][start + n] = float(value(last, p().step));
                out[2][start + n] = float(value(last, p().mode));
            }
        }
    }
};

InstanceSetup probeInstance() {
    const ProbeDecl& d = declaration<ProbeDecl>();
    ParamValues params;
    for (const ParamInfo& p : d.decl.info().params) params.push_back(p.defaultValue);
    return {params, {1}, {3}, "probe"};
}

Lanes renderProbe(ProbeKernel& kernel, std::int64_t frames, const RenderPlan& plan) {
    return render(kernel, Lanes(1, std::vector<float>(std::size_t(frames), 0.0f)), 3, 256, plan);
}

} // namespace

TEST_CASE("kit: a fluent declaration fills the parameter table in order", "[kit]") {
    const ProbeDecl& d = declaration<ProbeDecl>();
    const NodeTypeInfo& info = d.decl.info();
    REQUIRE(info.params.size() == 3);
    CHECK(info.name == "probe");
    CHECK(info.params[0].id == "level");
    CHECK(info.params[0].unit == UnitKind::Plain);
    CHECK(info.params[0].minValue == -10);
    CHECK(info.params[0].maxValue == 10);
    CHECK(info.params[0].defaultValue == 1);
    CHECK(info.params[0].smoothingMs == 10);
    CHECK(info.params[1].smoothingMs == 0); // stepped: no smoothing to document
    CHECK(info.params[2].choices == std::vector<double>{1, 2, 3, 4});
    CHECK(d.decl.behaviours()[1].wholeNumber);
    CHECK(d.decl.behaviours()[2].motion == ParamMotion::Fixed);

    NodeDecl units{"units", "test"};
    units.param("f").frequency(10, 20000).fixed();
    units.param("g").decibels(-24, 24).fixed();
    units.param("t").time(1, 100).fixed();
    units.param("p").percent(0, 100).fixed();
    units.param("r").ratio(1, 20).fixed();
    units.param("l").loudness(-40, 0).fixed();
    units.param("tp").truePeak(-9, 0).fixed();
    const std::vector<UnitKind> kinds{UnitKind::Frequency, UnitKind::Gain,     UnitKind::Time,    UnitKind::Percent,
                                      UnitKind::Ratio,     UnitKind::Loudness, UnitKind::TruePeak};
    for (std::size_t i = 0; i < kinds.size(); ++i) CHECK(units.info().params[i].unit == kinds[i]);
}

TEST_CASE("kit: handles are found by id and by motion", "[kit]") {
    const ProbeDecl& d = declaration<ProbeDecl>();
    CHECK(d.level.index == 0);
    CHECK(d.step.index == 1);
    CHECK(d.mode.index == 2);
    CHECK(d.decl.find("step").index == 1);
    CHECK_FALSE(d.decl.find("nope").valid());
    CHECK(d.decl.handle<ParamMotion::Smoothed>("level").index == 0);
    CHECK_FALSE(d.decl.handle<ParamMotion::Smoothed>("step").valid()); // wrong motion
    CHECK(d.decl.handle<ParamMotion::Fixed>("mode").index == 2);
    CHECK(paramValue({1, 2, 3}, d.mode) == 3);
    CHECK(paramValue({1, 2, 3}, ParamRef{}, 7) == 7);
}

TEST_CASE("kit: changes are clamped to the declared range, rounded where whole, fixed ones ignored", "[kit]") {
    ProbeKernel kernel;
    REQUIRE(kernel.prepare({48000, 256, detectSimdArch()}, std::vector<InstanceSetup>{probeInstance()}) == "");
    RenderPlan plan;
    plan.events = {{100, 0, 0, 50.0}, {200, 0, 1, 1e9}, {300, 0, 1, 2.6}, {400, 0, 2, 4.0}, {500, 0, 1, -3.0}};
    const Lanes out = renderProbe(kernel, 2000, plan);
    CHECK(out[0][1999] == 10.0f); // level clamped to its maximum
    CHECK(out[1][250] == 100.0f); // step clamped
    CHECK(out[1][350] == 3.0f);   // 2.6 rounded
    CHECK(out[1][600] == 0.0f);   // -3 clamped to the minimum
    CHECK(out[2][1999] == 2.0f);  // mode is fixed: the change is ignored
    CHECK(kernel.changes == 4);   // the fixed one never reached the kernel
}

TEST_CASE("kit: a smoothed change ramps linearly over the declared time from its frame", "[kit]") {
    for (double rate : {44100.0, 48000.0}) {
        ProbeKernel kernel;
        REQUIRE(kernel.prepare({rate, 256, detectSimdArch()}, std::vector<InstanceSetup>{probeInstance()}) == "");
        const std::int64_t at = 1001;
        const std::int64_t length = std::llround(10.0 * rate / 1000.0); // 10 ms declared
        RenderPlan plan;
        plan.events = {{at, 0, 0, -5.0}};
        const Lanes out = renderProbe(kernel, at + length + 100, plan);
        INFO("rate " << rate << ", ramp of " << length << " frames");
        CHECK(out[0][std::size_t(at)] == 1.0f);
        for (std::int64_t k = 0; k <= length; k += 37) {
            const double expected = 1.0 + (-5.0 - 1.0) * double(k) / double(length);
            CHECK(out[0][std::size_t(at + k)] == Approx(expected).margin(1e-6));
        }
        CHECK(out[0][std::size_t(at + length - 1)] != -5.0f);
        CHECK(out[0][std::size_t(at + length)] == -5.0f);
    }
}

TEST_CASE("kit: changes queued at absolute frames give the same bits for every block split", "[kit]") {
    std::vector<ParamEvent> events{{37, 0, 0, 9.0}, {38, 0, 1, 17.0}, {500, 0, 0, -9.0}, {777, 0, 0, 3.0}, {4000, 0, 1, 60.0}};
    ProbeKernel reference;
    REQUIRE(reference.prepare({48000, 256, detectSimdArch()}, std::vector<InstanceSetup>{probeInstance()}) == "");
    RenderPlan whole;
    whole.events = events;
    whole.blockSizes = {1};
    const Lanes expected = renderProbe(reference, 6000, whole);
    for (const auto& sizes : splitPlans(256)) {
        ProbeKernel kernel;
        REQUIRE(kernel.prepare({48000, 256, detectSimdArch()}, std::vector<InstanceSetup>{probeInstance()}) == "");
        // Every change announced before the first block, far ahead of its frame.
        for (const ParamEvent& e : events) kernel.setParam(e.instance, e.param, e.value, e.position);
        RenderPlan plan;
        plan.blockSizes = sizes;
        INFO(sizes.size() << " block sizes, first " << sizes[0]);
        CHECK(sameBits(renderProbe(kernel, 6000, plan), expected));
    }
}

TEST_CASE("kit: a fused instance's parameters count through its stages", "[kit]") {
    ProbeKernel kernel;
    InstanceSetup fused = probeInstance();
    fused.stages = {{"probe", fused.params}, {"probe", {-2, 7, 3}}};
    fused.params.insert(fused.params.end(), {-2, 7, 3});
    REQUIRE(kernel.prepare({48000, 256, detectSimdArch()}, std::vector<InstanceSetup>{fused}) == "");
    // Parameter 4 of the instance is stage 1's `step` (3 parameters per stage); 1 is stage 0's.
    kernel.setParam(0, 4, 42.0, 5);
    kernel.setParam(0, 1, 99.0, 2);
    const Lanes out = renderProbe(kernel, 10, {});
    CHECK(out[1][4] == 7.0f);  // stage 1's own value, untouched by stage 0's change
    CHECK(out[1][5] == 42.0f); // stage 1's change, from its frame
    CHECK(out[2][0] == 3.0f);  // stage 1's fixed value
    CHECK(kernel.changes == 2);

    InstanceSetup unknown = probeInstance();
    unknown.type = "gain";
    ProbeKernel other;
    CHECK(other.prepare({48000, 256, detectSimdArch()}, std::vector<InstanceSetup>{unknown}) ==
          "the probe kernel cannot run node type 'gain'");
}

TEST_CASE("kit: element-wise kernels match their formulas on every architecture", "[kit]") {
    const int frames = 1003; // not a multiple of any batch width: tails are exercised
    const std::vector<float> x = sg::test::noise(frames, 2.0f, 3), y = sg::test::noise(frames, 0.5f, 4);
    std::vector<float> db(frames), gains(frames);
    for (int n = 0; n < frames; ++n) {
        db[std::size_t(n)] = -120.0f + 160.0f * float(n) / float(frames); // -120 .. +40 dB
        gains[std::size_t(n)] = x[std::size_t(n)];
    }
    for (SimdArch arch : availableArchs()) {
        const Elementwise& k = Elementwise::forArch(arch);
        INFO(simdArchName(arch));
        std::vector<float> out(frames);
        k.mix(x.data(), 0.3f, y.data(), -1.7f, out.data(), frames);
        for (int n = 0; n < frames; ++n) REQUIRE(out[std::size_t(n)] == x[std::size_t(n)] * 0.3f + y[std::size_t(n)] * -1.7f);
        k.sum(x.data(), y.data(), out.data(), frames);
        for (int n = 0; n < frames; ++n) REQUIRE(out[std::size_t(n)] == x[std::size_t(n)] + y[std::size_t(n)]);
        // Sources of very different sizes, so any other order of the additions rounds differently.
        std::vector<std::vector<float>> sources;
        for (int s = 0; s < 37; ++s) {
            sources.push_back(sg::test::noise(frames, s % 3 == 0 ? 1e4f : s % 3 == 1 ? 1.0f : 1e-4f, 10 + s));
            std::vector<const float*> pointers;
            for (const auto& source : sources) pointers.push_back(source.data());
            for (int length : {frames, 1, 17}) {
                std::fill(out.begin(), out.end(), -1.0f);
                k.sumSources(pointers.data(), int(pointers.size()), out.data(), length);
                for (int n = 0; n < length; ++n) {
                    float expected = sources[0][std::size_t(n)];
                    for (std::size_t j = 1; j < sources.size(); ++j) expected += sources[j][std::size_t(n)];
                    REQUIRE(out[std::size_t(n)] == expected);
                }
                REQUIRE(out[std::size_t(length) % std::size_t(frames)] == (length == frames ? out[0] : -1.0f));
            }
        }
        k.multiplyByConstant(x.data(), out.data(), frames, 0.7f);
        for (int n = 0; n < frames; ++n) REQUIRE(out[std::size_t(n)] == x[std::size_t(n)] * 0.7f);
        k.multiplyByCurve(x.data(), y.data(), out.data(), frames);
        for (int n = 0; n < frames; ++n) REQUIRE(out[std::size_t(n)] == x[std::size_t(n)] * y[std::size_t(n)]);

        k.decibelsToGain(db.data(), out.data(), frames);
        for (int n = 0; n < frames; ++n) {
            const double exact = std::pow(10.0, double(db[std::size_t(n)]) / 20.0);
            INFO("db " << db[std::size_t(n)]);
            REQUIRE(std::abs(double(out[std::size_t(n)]) - exact) <= 2e-6 * exact); // float exponent: ~|x| ulp
        }
        k.gainToDecibels(gains.data(), out.data(), frames);
        for (int n = 0; n < frames; ++n) {
            const double g = std::abs(double(gains[std::size_t(n)]));
            if (g > 0) REQUIRE(std::abs(double(out[std::size_t(n)]) - 20.0 * std::log10(g)) <= 1e-5);
        }
        const float zero = 0.0f;
        float zeroDb = 0;
        k.gainToDecibels(&zero, &zeroDb, 1);
        CHECK(std::isinf(zeroDb));
        CHECK(zeroDb < 0);

        // Split independence: the dB kernels pad their tail, so pieces give the same bits.
        std::vector<float> whole(frames), pieces(frames);
        k.decibelsToGain(db.data(), whole.data(), frames);
        for (int start = 0, size = 1; start < frames; start += size, size = size % 13 + 1)
            k.decibelsToGain(db.data() + start, pieces.data() + start, std::min(size, frames - start));
        CHECK(whole == pieces);

        // The fused kernels: the same bits as their two passes, whole and in pieces, hostile
        // levels included (0, denormals, inf, NaN: the floor, and NaN kept where it was).
        std::vector<float> levels = gains;
        levels[5] = 0.0f;
        levels[6] = 1e-42f;
        levels[7] = std::numeric_limits<float>::infinity();
        levels[8] = std::numeric_limits<float>::quiet_NaN();
        levels[9] = -1e-30f;
        auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
            return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
        };
        for (const float scale : {1.0f, 0.5f}) {
            std::vector<float> twoPasses(frames), fused(frames, -1.0f), fusedPieces(frames, -1.0f);
            k.gainToDecibels(levels.data(), twoPasses.data(), frames);
            for (float& v : twoPasses) v = std::max(v * scale, -240.0f);
            k.gainToDecibelsFloored(levels.data(), fused.data(), frames, scale, -240.0f);
            for (int start = 0, size = 1; start < frames; start += size, size = size % 13 + 1)
                k.gainToDecibelsFloored(levels.data() + start, fusedPieces.data() + start, std::min(size, frames - start), scale,
                                        -240.0f);
            INFO("scale " << scale);
            CHECK(same(fused, twoPasses));
            CHECK(same(fusedPieces, twoPasses));
            CHECK(std::isnan(fused[8]));
            CHECK(fused[5] == -240.0f);
        }
        const std::vector<float> change = y, offset = db;
        for (int mode = 0; mode < 3; ++mode) { // per-frame offset, a constant, none
            const float sign = mode == 1 ? 1.0f : -1.0f, constant = mode == 1 ? 3.0f : 0.0f;
            std::vector<float> formed(frames), twoPasses(frames), fused(frames, -1.0f), fusedPieces(frames, -1.0f);
            for (int n = 0; n < frames; ++n) {
                const auto i = std::size_t(n);
                formed[i] = mode == 0 ? sign * change[i] + offset[i] : mode == 1 ? sign * change[i] + constant : sign * change[i];
            }
            k.decibelsToGain(formed.data(), twoPasses.data(), frames);
            const float* offsets = mode == 0 ? offset.data() : nullptr;
            k.offsetDecibelsToGain(change.data(), sign, offsets, constant, fused.data(), frames);
            for (int start = 0, size = 1; start < frames; start += size, size = size % 13 + 1)
                k.offsetDecibelsToGain(change.data() + start, sign, offsets ? offsets + start : nullptr, constant,
                                       fusedPieces.data() + start, std::min(size, frames - start));
            INFO("mode " << mode);
            CHECK(same(fused, twoPasses));
            CHECK(same(fusedPieces, twoPasses));
        }
    }
}

TEST_CASE("kit: copyFlaggingNonFinite copies every bit and finds each infinity and NaN, at any place, on every architecture",
          "[kit]") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float denormal = std::numeric_limits<float>::denorm_min();
    const float largest = std::numeric_limits<float>::max();
    std::vector<float> x = sg::test::noise(300, 2.0f, 5);
    // Finite extremes that must not count: the largest float (x - x is still 0), denormals, -0.
    x[3] = largest, x[4] = -largest, x[5] = denormal, x[6] = -0.0f;
    const auto sameBits = [](const float* a, const float* b, int n) {
        return std::memcmp(a, b, sizeof(float) * std::size_t(n)) == 0;
    };
    for (SimdArch arch : availableArchs()) {
        const Elementwise& k = Elementwise::forArch(arch);
        INFO(simdArchName(arch));
        for (int length : {0, 1, 7, 15, 16, 17, 63, 64, 65, 129, 300}) {
            INFO("length " << length);
            std::vector<float> out(301, -1.0f);
            REQUIRE_FALSE(k.copyFlaggingNonFinite(x.data(), out.data(), length));
            REQUIRE(sameBits(out.data(), x.data(), length));
            REQUIRE(out[std::size_t(length)] == -1.0f); // nothing past the end
            REQUIRE_FALSE(k.anyNonFinite(x.data(), length));
            for (int at = 0; at < length; ++at) {
                for (float bad : {inf, -inf, nan, -nan}) {
                    std::vector<float> y(x.begin(), x.begin() + length);
                    y[std::size_t(at)] = bad;
                    std::fill(out.begin(), out.end(), -1.0f);
                    REQUIRE(k.copyFlaggingNonFinite(y.data(), out.data(), length));
                    REQUIRE(sameBits(out.data(), y.data(), length)); // NaNs keep their bits too
                    REQUIRE(k.anyNonFinite(y.data(), length));
                    // The same value before the range is not looked at.
                    REQUIRE_FALSE(k.anyNonFinite(y.data() + at + 1, length - at - 1));
                }
            }
        }
    }
}

TEST_CASE("kit: gainToDecibels is within half an ulp + 1e-6 dB of 20 log10 |g| over every float exponent", "[kit]") {
    // Every binade from the smallest subnormal to the largest float, each with its edges (1,
    // just under and over sqrt(2), just under 2) and random mantissas, both signs; the exact
    // value from double log10. The compressor's level runs through this conversion.
    std::vector<float> g;
    std::uint32_t seed = 12345;
    for (std::uint32_t exponent = 0; exponent < 255; ++exponent) {
        const std::uint32_t mantissas[] = {0, 1, 0x3504f2, 0x3504f3, 0x3504f4, 0x7fffff, 0x400000};
        for (std::uint32_t m : mantissas) {
            const std::uint32_t bits = exponent << 23 | m;
            float v = 0;
            std::memcpy(&v, &bits, 4);
            if (v != 0) g.push_back(v);
        }
        for (int k = 0; k < 40; ++k) {
            seed = seed * 1664525u + 1013904223u;
            const std::uint32_t bits = exponent << 23 | (seed >> 9);
            float v = 0;
            std::memcpy(&v, &bits, 4);
            if (v != 0) g.push_back(k % 2 ? -v : v);
        }
    }
    for (SimdArch arch : availableArchs()) {
        const Elementwise& k = Elementwise::forArch(arch);
        std::vector<float> out(g.size());
        k.gainToDecibels(g.data(), out.data(), int(g.size()));
        double worst = 0, worstBeyondHalfUlp = 0;
        for (std::size_t i = 0; i < g.size(); ++i) {
            const double exact = 20.0 * std::log10(std::fabs(double(g[i])));
            const double error = std::fabs(double(out[i]) - exact);
            const double halfUlp = 0.5 * (std::nextafter(float(std::fabs(exact)), INFINITY) - float(std::fabs(exact)));
            worst = std::max(worst, error);
            worstBeyondHalfUlp = std::max(worstBeyondHalfUlp, error - halfUlp);
        }
        INFO(simdArchName(arch) << ": largest error " << worst << " dB, beyond half an ulp " << worstBeyondHalfUlp << " dB");
        CHECK(worstBeyondHalfUlp <= 1e-6);
        CHECK(worst <= 4e-5); // half an ulp of 900 dB is 3e-5
        // Special values: -inf for +-0, +inf for +-inf, NaN for NaN, whatever the mode.
        const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, std::numeric_limits<float>::quiet_NaN()};
        float result[5] = {};
        k.gainToDecibels(special, result, 5);
        CHECK((std::isinf(result[0]) && result[0] < 0));
        CHECK((std::isinf(result[1]) && result[1] < 0));
        CHECK((std::isinf(result[2]) && result[2] > 0));
        CHECK((std::isinf(result[3]) && result[3] > 0));
        CHECK(std::isnan(result[4]));
        // The same bits on every architecture.
        std::vector<float> reference(g.size());
        Elementwise::forArch(SimdArch::Sse2).gainToDecibels(g.data(), reference.data(), int(g.size()));
        CHECK(std::memcmp(reference.data(), out.data(), sizeof(float) * g.size()) == 0);
    }
}
