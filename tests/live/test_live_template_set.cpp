// Live `set` on a template or file parameter as the user wrote it (`set ch.level -6dB`): the
// playing graph resolves it to every node parameter the parameter reaches unchanged
// (GraphDesc::paramBindings), and setting those changes the sound as the written value would.
#include "host/live/LiveGraph.h"
#include "live/LiveTesting.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::live;

TEST_CASE("live set: a template parameter reaches the node parameters it is written into", "[live]") {
    test::TempDir dir;
    const std::string yaml = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {out: {channels: 2}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    params: {level: 0 dB}\n"
                             "    inputs: {in: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes:\n"
                             "      fader: {type: gain, gain: $level}\n"
                             "      trim:  {type: gain, gain: $level}\n"
                             "    connections: [in -> fader -> trim -> out]\n"
                             "nodes:\n"
                             "  ch: {use: strip}\n"
                             "connections: [mix -> ch -> out]\n";
    LiveFormat format;
    auto graph = test::makeLiveGraph(dir, "g.yaml", yaml, format);
    CHECK(graph->paramTargets("ch.level") == std::vector<std::string>{"ch.fader.gain", "ch.trim.gain"});
    CHECK(graph->paramTargets("ch.fader.gain") == std::vector<std::string>{"ch.fader.gain"});
    CHECK(graph->paramTargets("ch.nothing") == std::vector<std::string>{"ch.nothing"}); // resolveParam reports it

    // Set both targets to -6 dB and play DC: after the 20 ms ramps the output is 0.5 * (-6 dB)^2.
    for (const auto& target : graph->paramTargets("ch.level")) {
        int handle = -1;
        double value = 0;
        REQUIRE(graph->resolveParam(target, "-6dB", handle, value) == "");
        CHECK(value == Approx(-6.0));
        graph->setParam(handle, value);
    }
    int handle = -1;
    double value = 0;
    CHECK_THAT(graph->resolveParam("ch.nothing", "-6dB", handle, value), Catch::Contains("no node 'ch'"));

    AudioBuffer in(2, format.maxBlockFrames), out(2, format.maxBlockFrames);
    for (int c = 0; c < 2; ++c)
        for (int n = 0; n < in.frames(); ++n) in.channel(c)[n] = 0.5f;
    for (int block = 0; block < 20; ++block) graph->process(in.view(), out.view()); // 5120 frames > 2 x 960
    const double expected = 0.5 * std::pow(10.0, -12.0 / 20.0);
    CHECK(out.channel(0)[out.frames() - 1] == Approx(expected).margin(1e-6));
}
