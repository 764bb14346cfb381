// LV2 plugins as nodes, with real plugins from Debian (lsp-plugins-lv2, x42-plugins; the test
// command installs them): neutral plugins null against their input, reported latency equals the
// measured impulse delay and is compensated, a render equals lv2apply's (lilv-utils) bit for
// bit, parameters and `--set` reach control ports, and bad graphs get one error each at
// file:line:col. A test whose plugin is not installed prints "SKIPPED: LV2 plugin ... is not
// installed" and runs nothing (ctest reports it as skipped).
#include "core/Executor.h"
#include "core/Schedule.h"
#include "nodes/lv2/Lv2.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

using namespace sg;
using namespace sg::test;

namespace {

const std::string kEqStereo = "http://lsp-plug.in/plugins/lv2/para_equalizer_x16_stereo";
const std::string kEqMono = "http://lsp-plug.in/plugins/lv2/para_equalizer_x16_mono";
const std::string kLimiter = "http://lsp-plug.in/plugins/lv2/limiter_stereo";
const std::string kNoDelay = "http://gareus.org/oss/lv2/nodelay";
const std::string kSidechainCompressor = "http://lsp-plug.in/plugins/lv2/sc_compressor_stereo";
const std::string kNeedsWorker = "http://gareus.org/oss/lv2/convoLV2#Mono";

/// True when every plugin in `uris` is installed; otherwise warns with the line ctest reports
/// as a skip.
bool pluginsInstalled(std::initializer_list<std::string> uris) {
    for (const std::string& uri : uris) {
        const auto found = installedLv2Plugins(uri);
        if (std::none_of(found.begin(), found.end(), [&](const Lv2PluginSummary& p) { return p.uri == uri; })) {
            WARN("SKIPPED: LV2 plugin " << uri << " is not installed (apt-get install lsp-plugins-lv2 x42-plugins)");
            return false;
        }
    }
    return true;
}

/// A test case whose body runs only when its plugins are installed (no early return).
#define LV2_TEST_CASE(name, tags, ...) LV2_TEST_CASE_WITH_BODY(INTERNAL_CATCH_UNIQUE_NAME(lv2TestBody), name, tags, __VA_ARGS__)
#define LV2_TEST_CASE_WITH_BODY(body, name, tags, ...)                                                                           \
    static void body();                                                                                                          \
    TEST_CASE(name, tags) {                                                                                                      \
        if (pluginsInstalled({__VA_ARGS__})) body();                                                                             \
    }                                                                                                                            \
    static void body()

/// A graph `mix (channels) -> NODE -> out`, plus `mix -> inverted copy -> out` when `nullTest`.
std::string pluginGraph(const std::string& node, int channels, bool nullTest) {
    const std::string ch = std::to_string(channels);
    std::string y = "stagegraph: 1\ninputs:\n  mix: {channels: " + ch + "}\noutputs:\n  out: {channels: " + ch +
                    "}\nnodes:\n  p: " + node + "\n";
    if (nullTest) y += "  inv: {type: gain, invert: 1}\n";
    y += "connections:\n  - mix -> p -> out\n";
    if (nullTest) y += "  - mix -> inv -> out\n";
    return y;
}

std::string lv2Node(const std::string& uri, const std::string& params = "") {
    return "{type: lv2, plugin: \"" + uri + "\"" + (params.empty() ? "" : ", params: {" + params + "}") + "}";
}

double peakOf(const std::vector<Planar>& out) {
    double m = 0;
    for (const auto& ch : out[0])
        for (float v : ch) m = std::max(m, double(std::fabs(v)));
    return m;
}

/// A float WAV file of `x` (mono), written by hand: the header lv2apply and libsndfile both read.
void writeMonoWav(const std::string& path, const std::vector<float>& x, int rate) {
    std::ofstream f(path, std::ios::binary);
    auto u32 = [&](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
    const std::uint32_t bytes = std::uint32_t(x.size() * 4);
    f.write("RIFF", 4);
    u32(36 + bytes);
    f.write("WAVEfmt ", 8);
    u32(16);
    u16(3); // IEEE float
    u16(1);
    u32(std::uint32_t(rate));
    u32(std::uint32_t(rate) * 4);
    u16(4);
    u16(32);
    f.write("data", 4);
    u32(bytes);
    f.write(reinterpret_cast<const char*>(x.data()), std::streamsize(bytes));
}

/// The samples of a mono float WAV file (the data chunk of a canonical header).
std::vector<float> readMonoWav(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto at = bytes.find("data");
    REQUIRE(at != std::string::npos);
    std::uint32_t size = 0;
    std::memcpy(&size, bytes.data() + at + 4, 4);
    std::vector<float> x(size / 4);
    std::memcpy(x.data(), bytes.data() + at + 8, std::min<std::size_t>(size, bytes.size() - at - 8));
    return x;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

} // namespace

LV2_TEST_CASE("lv2: an EQ with every band off nulls against its input, bit for bit", "[nodes][lv2]", kEqStereo) {
    Diagnostics diags;
    auto program = compileYaml(pluginGraph(lv2Node(kEqStereo), 2, true), diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    CHECK(program->schedule().latencyFrames == 0);
    const std::int64_t frames = 48000;
    const std::vector<Planar> in = {{noise(frames, 0.5f, 1), noise(frames, 0.5f, 2)}};
    const auto out = renderFixed(program->executor(), in, frames, 300);
    const double residual = peakOf(out);
    INFO("residual peak " << residual);
    CHECK(residual == 0.0);
}

LV2_TEST_CASE("lv2: reported latency equals the measured impulse delay and is compensated", "[nodes][lv2]", kNoDelay, kLimiter,
              kEqStereo) {
    struct Case {
        std::string node;
        int channels;
        int latency;     // expected: nodelay's `delay`; LSP's limiter: its 5 ms lookahead at 48 kHz
        double residual; // largest |null| allowed: LSP's EQ in FIR mode rounds in its FFTs
    };
    // LSP's EQ in FIR mode (mode 1), every band off: 6144 frames of latency; a one-frame
    // misalignment would leave a residual near the signal's own level (0.1).
    for (const Case& c : {Case{lv2Node(kNoDelay, "delay: 100"), 1, 100, 0}, Case{lv2Node(kNoDelay, "delay: 1234"), 2, 1234, 0},
                          Case{lv2Node(kLimiter), 2, 240, 0}, Case{lv2Node(kEqStereo, "mode: 1"), 2, 6144, 1e-5}}) {
        CAPTURE(c.node);
        // The plugin alone: an impulse comes out `latency` frames late.
        Diagnostics diags;
        auto alone = compileYaml(pluginGraph(c.node, c.channels, false), diags);
        INFO(diags.formatAll());
        REQUIRE(alone);
        CHECK(alone->schedule().latencyFrames == c.latency);
        const std::int64_t frames = 8192, at = 1000;
        Planar impulse(std::size_t(c.channels), std::vector<float>(frames, 0.0f));
        for (auto& ch : impulse) ch[at] = 0.25f;
        const auto out = renderFixed(alone->executor(), {impulse}, frames, 256);
        std::int64_t loudest = -1;
        float best = 0;
        for (std::int64_t n = 0; n < frames; ++n)
            if (std::fabs(out[0][0][std::size_t(n)]) > best) {
                best = std::fabs(out[0][0][std::size_t(n)]);
                loudest = n;
            }
        // The executor does not trim latency (the offline runner does): the peak's delay is the
        // plugin's measured latency.
        CHECK(loudest - at == c.latency);

        // Beside an inverted dry path the compiler delays the dry path by the reported latency:
        // at a level the limiter leaves alone, the two cancel exactly.
        auto parallel = compileYaml(pluginGraph(c.node, c.channels, true), diags);
        REQUIRE(parallel);
        CHECK(parallel->schedule().latencyFrames == c.latency);
        Planar music;
        for (int ch = 0; ch < c.channels; ++ch) music.push_back(noise(24000, 0.1f, std::uint32_t(7 + ch)));
        const auto nulled = renderFixed(parallel->executor(), {music}, 24000, 512);
        INFO("residual peak " << peakOf(nulled));
        CHECK(peakOf(nulled) <= c.residual);
    }
}

LV2_TEST_CASE("lv2: a sidechain port group is the node's sidechain input", "[nodes][lv2]", kSidechainCompressor) {
    // LSP's sidechain compressor, external sidechain (sct 2), threshold -40 dB, 10:1, beside an
    // inverted dry path: a silent key leaves the music untouched (exact null), a loud key
    // compresses it.
    const std::string yaml =
        "stagegraph: 1\ninputs:\n  mix: {channels: 2}\n  key: {channels: 2}\noutputs:\n  out: {channels: 2}\n"
        "nodes:\n  comp: " +
        lv2Node(kSidechainCompressor, "sct: 2, al: 0.01, cr: 10") +
        "\n  inv: {type: gain, invert: 1}\nconnections:\n  - mix -> comp -> out\n  - key -> comp.sidechain\n"
        "  - mix -> inv -> out\n";
    const std::int64_t frames = 24000;
    const Planar music = {noise(frames, 0.1f, 11), noise(frames, 0.1f, 12)};
    for (float keyLevel : {0.0f, 0.5f}) {
        CAPTURE(keyLevel);
        Diagnostics diags;
        auto program = compileYaml(yaml, diags);
        INFO(diags.formatAll());
        REQUIRE(program);
        const Planar key = {noise(frames, keyLevel, 13), noise(frames, keyLevel, 14)};
        const double residual = peakOf(renderFixed(program->executor(), {music, key}, frames, 512));
        INFO("residual peak " << residual);
        if (keyLevel == 0.0f)
            CHECK(residual == 0.0);
        else
            CHECK(residual > 0.02);
    }
}

LV2_TEST_CASE("lv2: a render equals lv2apply's output on the same input, bit for bit", "[nodes][lv2]", kEqMono) {
    if (runShell("command -v lv2apply").status != 0) {
        WARN("SKIPPED: LV2 plugin test needs lv2apply (apt-get install lilv-utils)");
        return;
    }
    TempDir dir;
    writeMonoWav(dir.file("in.wav"), noise(48000, 0.5f, 3), 48000);
    // One bell band at 1 kHz, +6 dB (LSP takes linear gains), Q 1; the rest of the plugin at its
    // defaults in both hosts.
    const auto reference = runShell("lv2apply -i " + quoted(dir.file("in.wav")) + " -o " + quoted(dir.file("lv2apply.wav")) +
                                    " -c ft_0 1 -c f_0 1000 -c g_0 2 -c q_0 1 " + kEqMono);
    INFO(reference.err);
    REQUIRE(reference.status == 0);
    dir.write("eq.yaml", pluginGraph(lv2Node(kEqMono, "ft_0: 1, f_0: 1 kHz, g_0: 2, q_0: 1"), 1, false));
    const auto a = readMonoWav(dir.file("lv2apply.wav")), x = readMonoWav(dir.file("in.wav"));
    REQUIRE(a.size() == 48000);
    // lv2apply runs the plugin one frame at a time: so do we (--block 1); this EQ gives the same
    // bits at other block sizes and splits (37, the default 512) as well.
    for (const char* block : {"1", "37", "512"}) {
        CAPTURE(block);
        const auto ours = runCli("render " + quoted(dir.file("eq.yaml")) + " -i " + quoted(dir.file("in.wav")) + " -o " +
                                 quoted(dir.file("ours.wav")) + " --format wav32f --block " + block);
        INFO(ours.err);
        REQUIRE(ours.status == 0);
        const auto b = readMonoWav(dir.file("ours.wav"));
        REQUIRE(b.size() == a.size());
        CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
    double changed = 0; // the band is really on: the output is not the input
    for (std::size_t n = 0; n < x.size(); ++n) changed = std::max(changed, double(std::fabs(a[n] - x[n])));
    CHECK(changed > 0.05);
}

LV2_TEST_CASE("lv2: parameters and --set reach the plugin's control ports", "[nodes][lv2]", kNoDelay) {
    TempDir dir;
    std::vector<float> impulse(4800, 0.0f);
    impulse[100] = 0.5f;
    writeMonoWav(dir.file("in.wav"), impulse, 48000);
    dir.write("d.yaml", pluginGraph(lv2Node(kNoDelay, "delay: 10, report_latency: 0"), 1, false));
    // Mode 0 delays without reporting: the render keeps the delay, so the impulse moves.
    for (int delay : {10, 37}) {
        CAPTURE(delay);
        const auto r = runCli("render " + quoted(dir.file("d.yaml")) + " -i " + quoted(dir.file("in.wav")) + " -o " +
                              quoted(dir.file("out.wav")) + " --format wav32f" +
                              (delay == 10 ? std::string() : " --set p.delay=" + std::to_string(delay)));
        INFO(r.err);
        REQUIRE(r.status == 0);
        const auto out = readMonoWav(dir.file("out.wav"));
        REQUIRE(out.size() == impulse.size());
        CHECK(out[std::size_t(100 + delay)] == 0.5f);
    }
    // At run time: setParam at a frame position reaches the port from the next run.
    Diagnostics diags;
    auto program = compileYaml(pluginGraph(lv2Node(kNoDelay, "delay: 0, report_latency: 0"), 1, false), diags);
    REQUIRE(program);
    std::string error;
    const int handle = program->executor().findParam("p", "delay", error);
    INFO(error);
    REQUIRE(handle >= 0);
    program->executor().setParam(handle, 20, 0);
    Planar x(1, std::vector<float>(4096, 0.0f));
    x[0][3000] = 0.5f;
    const auto out = renderFixed(program->executor(), {x}, 4096, 512);
    CHECK(out[0][0][3020] == 0.5f);
}

TEST_CASE("lv2: bad plugin nodes are graph errors at file:line:col, all in one run", "[nodes][lv2]") {
    TempDir dir;
    const std::string graph = dir.write("bad.yaml", "stagegraph: 1\n"
                                                    "inputs:\n  mix: {channels: 1}\n"
                                                    "outputs:\n  out: {channels: 1}\n"
                                                    "nodes:\n"
                                                    "  a: {type: lv2, plugin: \"http://gareus.org/oss/lv2/nodelayy\"}\n"
                                                    "  b: {type: lv2, plugin: \"" +
                                                        kNoDelay +
                                                        "\", params: {dealy: 3}}\n"
                                                        "  c: {type: lv2, plugin: \"" +
                                                        kNoDelay +
                                                        "\", params: {delay: 500000}}\n"
                                                        "  d: {type: lv2, plugin: \"" +
                                                        kNeedsWorker +
                                                        "\"}\n"
                                                        "  e: {type: lv2}\n"
                                                        "  f: {type: lv2, plugin: \"urn:nobody:plugin\"}\n"
                                                        "  g: {type: lv2, plugin: \"" +
                                                        kEqMono +
                                                        "\", params: {f_0: 3 dB}}\n"
                                                        "connections:\n  - mix -> a -> b -> c -> d -> e -> f -> g -> out\n"
                                                        "  - mix -> g.sidechain\n");
    const auto r = runCli("check " + quoted(graph));
    INFO(r.err);
    CHECK(r.status == 2);
    const auto has = [&](const std::string& text) { return r.err.find(text) != std::string::npos; };
    if (pluginsInstalled({kNoDelay})) {
        CHECK(has(graph + ":7:26: error: node 'a': LV2 plugin 'http://gareus.org/oss/lv2/nodelayy' is not installed "
                          "(did you mean 'http://gareus.org/oss/lv2/nodelay'?"));
        CHECK((has(graph + ":8:") && has("node 'b': unknown parameter 'dealy'") && has("did you mean 'delay'?")));
        CHECK((has(graph + ":9:") && has("node 'c': delay: 500000 is out of range (0 to 192000")));
    }
    if (pluginsInstalled({kNeedsWorker}))
        CHECK(has(graph + ":10:26: error: node 'd': LV2 plugin '" + kNeedsWorker +
                  "' requires a feature stagegraph does not provide: worker:schedule"));
    CHECK(has(graph + ":11:3: error: node 'e': an lv2 node needs 'plugin: <URI>'"));
    CHECK(has(graph + ":12:26: error: node 'f': LV2 plugin 'urn:nobody:plugin' is not installed"));
    CHECK(has("'stagegraph nodes --lv2'"));
    if (pluginsInstalled({kEqMono})) {
        // The plugin's units are ours: a gain is not a frequency. And its ports are its own.
        CHECK((has(graph + ":13:") && has("node 'g': f_0: expected a frequency")));
        CHECK((has(graph + ":16:") && has("node 'g' (lv2) has no input port 'sidechain'; inputs: in")));
    }
}

LV2_TEST_CASE("lv2: nodes --lv2 lists installed plugins with their ports and parameter ranges", "[nodes][lv2]", kNoDelay) {
    const auto r = runCli("nodes --lv2 nodelay");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find(kNoDelay + "\n  No Delay Line\n  audio: 1 in, 1 out; reports its latency\n") != std::string::npos);
    CHECK(r.out.find("delay          0 .. 192000") != std::string::npos);
    CHECK(r.out.find("report_latency 0, 1, 2 or 3") != std::string::npos);
    const auto none = runCli("nodes --lv2 no-such-plugin-anywhere");
    CHECK(none.status == 1);
    CHECK(none.err.find("no installed LV2 plugin matches 'no-such-plugin-anywhere'") != std::string::npos);
}
