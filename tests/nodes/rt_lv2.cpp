// Real-time safety of the LV2 wrapper: processing a graph of real plugins (an LSP EQ, x42's
// nodelay), with parameter changes at frame positions, allocates nothing at any block size. The
// plugins' own run() is their business; these two allocate nothing in it, so a count of zero
// covers our wrapper (lane connection, segmenting, control writes, atom buffer resets).
#include "core/Buffer.h"
#include "core/Executor.h"
#include "nodes/lv2/Lv2.h"
#include "support/RtAllocations.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sg;

TEST_CASE("rt: LV2 plugin nodes allocate nothing while processing and changing parameters", "[rt][lv2]") {
    REQUIRE(sg::test::rtCountingAvailable());
    const std::string eq = "http://lsp-plug.in/plugins/lv2/para_equalizer_x16_stereo",
                      delay = "http://gareus.org/oss/lv2/nodelay";
    for (const std::string& uri : {eq, delay}) {
        const auto found = installedLv2Plugins(uri);
        if (std::none_of(found.begin(), found.end(), [&](const Lv2PluginSummary& p) { return p.uri == uri; })) {
            WARN("SKIPPED: LV2 plugin " << uri << " is not installed (apt-get install lsp-plugins-lv2 x42-plugins)");
            return;
        }
    }
    const std::string yaml = "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                             "  eq: {type: lv2, plugin: \"" +
                             eq + "\", params: {ft_0: 1, f_0: 1 kHz, g_0: 2, q_0: 1}}\n  dl: {type: lv2, plugin: \"" + delay +
                             "\", params: {delay: 100}}\nconnections:\n  - mix -> eq -> dl -> out\n";
    Diagnostics diags;
    auto program = sg::test::compileYaml(yaml, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    Executor& ex = program->executor();
    std::string error;
    const int gain = ex.findParam("eq", "g_0", error), time = ex.findParam("dl", "delay", error);
    REQUIRE(gain >= 0);
    REQUIRE(time >= 0);
    AudioBuffer in(2, 8192), out(2, 8192);
    for (int c = 0; c < 2; ++c) {
        const auto x = sg::test::noise(8192, 0.5f, std::uint32_t(c + 1));
        std::copy(x.begin(), x.end(), in.channel(c));
    }
    const ConstAudioView inView = in.view();
    const long allocations = sg::test::allocationsDuring([&] {
        for (int block : {1, 17, 64, 512, 8192})
            for (int i = 0; i < 10; ++i) {
                if (i == 5) {
                    ex.setParam(gain, 0.5 + block % 7, ex.position() + 3);
                    ex.setParam(time, 50 + block % 11, ex.position() + 5);
                }
                const ConstAudioView inSlice = inView.frameRange(0, block);
                const AudioView outSlice = out.view().frameRange(0, block);
                ex.process(std::span<const ConstAudioView>(&inSlice, 1), std::span<const AudioView>(&outSlice, 1));
            }
    });
    CHECK(allocations == 0);
}
