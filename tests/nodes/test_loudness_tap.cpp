// The `loudness` tap node: audio passes through unchanged in a compiled graph, the figures
// reach Executor::measurements and match a LoudnessMeter fed directly; its declaration.
#include "core/Executor.h"
#include "core/Registry.h"
#include "support/TestSupport.h"
#include "tests/nodes/LoudnessTesting.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::loudnesstest;

// ---- the tap node -----------------------------------------------------------------------------------

TEST_CASE("loudness: the tap node passes audio through and reports via Executor::measurements", "[loudness]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs:\n  mix: {channels: 2}\n"
                             "outputs:\n  master: {channels: 2}\n"
                             "nodes:\n"
                             "  before: {type: loudness}\n"
                             "  trim: {type: gain, gain: -6 dB}\n"
                             "  after: {type: loudness, oversampling: 8}\n"
                             "connections:\n  - mix -> before -> trim -> after -> master\n";
    Diagnostics diags;
    auto program = sg::test::compileYaml(yaml, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    const double rate = 48000;
    const Planar x = musicLike(rate, 20, 9);
    const auto out = sg::test::renderFixed(program->executor(), {x}, std::int64_t(x[0].size()), 333);
    // gain's ramp starts at the target, so the output is the input times 10^(-6/20) exactly.
    const float factor = float(std::pow(10.0, -6.0 / 20));
    for (int c = 0; c < 2; ++c)
        for (std::size_t n = 0; n < x[0].size(); n += 97) REQUIRE(out[0][std::size_t(c)][n] == x[std::size_t(c)][n] * factor);

    const auto measurements = program->executor().measurements();
    REQUIRE(measurements.size() == 2);
    const auto find = [&](const std::string& node, const std::string& key) {
        for (const auto& m : measurements)
            if (m.node == node)
                for (const auto& v : m.values)
                    if (v.key == key) return v;
        FAIL("no " << key << " from " << node);
        return Measurement{};
    };
    const LoudnessMeter direct = measured(x, rate, 4096);
    CHECK(measurements[0].type == "loudness");
    CHECK(find("before", "integrated_lufs").value == direct.integratedLufs());
    CHECK(find("before", "integrated_lufs").unit == "LUFS");
    CHECK(find("before", "loudness_range_lu").value == direct.loudnessRangeLu());
    CHECK(find("before", "true_peak_dbtp").value == direct.truePeakDbtp());
    CHECK(find("before", "true_peak_dbtp").unit == "dBTP");
    CHECK(find("before", "sample_peak_dbfs").value == direct.samplePeakDbfs());
    CHECK(find("before", "max_momentary_lufs").value == direct.maxMomentaryLufs());
    CHECK(find("before", "max_short_term_lufs").value == direct.maxShortTermLufs());
    CHECK(find("before", "plr_db").value == direct.plrDb());
    CHECK(find("before", "momentary_lufs").value == direct.momentaryLufs());
    CHECK(find("before", "short_term_lufs").value == direct.shortTermLufs());
    CHECK(find("after", "integrated_lufs").value == Approx(direct.integratedLufs() - 6).margin(0.01));
    CHECK(find("after", "sample_peak_dbfs").value == Approx(direct.samplePeakDbfs() - 6).margin(0.01));
    CHECK(find("after", "loudness_range_lu").value == Approx(direct.loudnessRangeLu()).margin(0.02));
    CHECK(find("after", "true_peak_dbtp").value >= find("after", "sample_peak_dbfs").value);
}

TEST_CASE("loudness: the tap node's declaration and channel rule", "[loudness]") {
    const NodeType* t = Registry::builtin().find("loudness");
    REQUIRE(t != nullptr);
    CHECK(t->info().family == "meters");
    CHECK(t->info().inPlace);
    CHECK(t->latencyFrames(t->defaults(), 48000) == 0);
    const ParamInfo& os = t->info().params[std::size_t(t->paramIndex("oversampling"))];
    CHECK(os.choices == std::vector<double>{4, 8});
    CHECK(os.defaultValue == 4);
    std::vector<int> out;
    for (int channels = 1; channels <= 8; ++channels) {
        CHECK(t->resolveChannels(t->defaults(), std::vector<int>{channels}, out) == "");
        CHECK(out == std::vector<int>{channels});
    }
    CHECK(t->resolveChannels(t->defaults(), std::vector<int>{9}, out) != "");
}
