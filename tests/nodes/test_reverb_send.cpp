// graphs/mixing/reverb-send.yaml: the pre-fader send's level in the reverb return does not move
// with the fader; the post-fader send's follows it dB for dB; the dry mix follows the fader.
// Measured on the graph's `return` output (the reverb alone), rendered with --set style overrides.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::test;

namespace {

struct Levels {
    double returnDb = 0, mixDb = 0;
};

double energyDb(const Planar& x) {
    double sum = 0;
    for (const auto& channel : x)
        for (float v : channel) sum += double(v) * v;
    return 10 * std::log10(sum);
}

/// Renders the shipped graph with only the vocal sounding (guitar and keys silent) and `overrides`.
Levels render(const std::vector<std::string>& overrides, double rate) {
    Diagnostics diags;
    auto compiled = loadAndCompile(sourceDir() + "/graphs/mixing/reverb-send.yaml", overrides, Registry::builtin(), diags);
    INFO(diags.formatAll());
    REQUIRE(compiled);
    InstanceOptions options;
    options.sampleRate = rate;
    auto program = instantiate(*compiled, options, diags);
    REQUIRE(program);
    const auto frames = std::int64_t(rate * 1.5);
    std::vector<float> vocal = noise(frames, 0.5f, 31);
    std::fill(vocal.begin() + std::ptrdiff_t(rate / 2), vocal.end(), 0.0f); // 0.5 s of signal, then the tail
    const std::vector<float> silence(std::size_t(frames), 0.0f);
    const std::vector<Planar> out = renderFixed(program->executor(), {{vocal}, {silence}, {silence}}, frames, 256);
    REQUIRE(out.size() == 2);
    const auto& outputs = program->executor().outputs();
    Levels levels;
    for (std::size_t k = 0; k < outputs.size(); ++k)
        (outputs[k].name == "return" ? levels.returnDb : levels.mixDb) = energyDb(out[k]);
    return levels;
}

} // namespace

TEST_CASE("reverb-send graph: the pre-fader send ignores the fader, the post-fader send follows it", "[nodes][reverb][graphs]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        // Pre-fader send only (post muted).
        const Levels preUp =
            render({"vocal_ch.pre_send.gain=-6dB", "vocal_ch.post_send.gain=-120dB", "vocal_ch.fader.gain=0dB"}, rate);
        const Levels preDown =
            render({"vocal_ch.pre_send.gain=-6dB", "vocal_ch.post_send.gain=-120dB", "vocal_ch.fader.gain=-12dB"}, rate);
        // Post-fader send only (pre muted).
        const Levels postUp =
            render({"vocal_ch.pre_send.gain=-120dB", "vocal_ch.post_send.gain=-6dB", "vocal_ch.fader.gain=0dB"}, rate);
        const Levels postDown =
            render({"vocal_ch.pre_send.gain=-120dB", "vocal_ch.post_send.gain=-6dB", "vocal_ch.fader.gain=-12dB"}, rate);
        INFO("rate " << rate << ": pre-fader return " << preUp.returnDb << " -> " << preDown.returnDb << " dB, post-fader return "
                     << postUp.returnDb << " -> " << postDown.returnDb << " dB");
        CHECK(std::abs(preDown.returnDb - preUp.returnDb) < 0.01);
        CHECK(std::abs((postDown.returnDb - postUp.returnDb) - (-12.0)) < 0.01);
        // Same send level at fader 0 dB: the two sends feed the reverb alike.
        CHECK(std::abs(preUp.returnDb - postUp.returnDb) < 0.01);
        // The mix holds the dry strip (following the fader) plus the return: it falls, by less than 12 dB with the pre send.
        CHECK(preDown.mixDb < preUp.mixDb - 3);
        CHECK(preDown.mixDb > preUp.mixDb - 12);
    }
}
