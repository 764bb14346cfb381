// `stagegraph render --threads N|auto` end to end: the written files are the same bytes whatever
// the thread count, the report says how many threads ran the graph, and a count that is not one
// is a usage error (status 2) that names the option.
#include "host/WavTesting.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

using namespace sg;
using nlohmann::json;
using sg::test::runCli;
using sg::test::TempDir;

namespace {

std::string q(const std::string& path) { return "'" + path + "'"; }

std::string bytesOf(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Eight strips (EQ, compressor, pan) into a bus compressor: branches worth two threads.
std::string mixGraph() {
    std::string y = "stagegraph: 1\ninputs:\n";
    for (int i = 0; i < 8; ++i) y += std::string("  t") + std::to_string(i) + ": {channels: 1}\n";
    y += "outputs:\n  mix: {channels: 2}\nnodes:\n";
    for (int i = 0; i < 8; ++i) {
        const std::string n = std::to_string(i);
        y += "  hp" + n + ": {type: highpass, freq: 80 Hz}\n  eq" + n + std::string(": {type: peak, freq: ") +
             std::to_string(250 * (i + 1)) + " Hz, gain: 2 dB}\n  cp" + n +
             ": {type: compressor, threshold: -30 dB, ratio: 3, makeup: 3 dB}\n  pn" + n + std::string(": {type: pan, pan: ") +
             std::to_string(-70 + 20 * i) + " %}\n";
    }
    y += "  bus: {type: compressor, threshold: -20 dB, ratio: 2}\nconnections:\n";
    for (int i = 0; i < 8; ++i) {
        const std::string n = std::to_string(i);
        y += "  - t" + n + " -> hp" + n + " -> eq" + n + " -> cp" + n + " -> pn" + n + " -> bus\n";
    }
    return y + "  - bus -> mix\n";
}

} // namespace

TEST_CASE("render --threads: the same bytes on 1, 2 and 3 threads and by default; the report names the count", "[cli][threads]") {
    TempDir dir;
    const std::string graph = dir.write("mix.yaml", mixGraph());
    std::string inputs;
    for (int i = 0; i < 8; ++i) {
        // Clipped noise driven +20 dB on even tracks, a tone near Nyquist at 44.1 kHz on odd ones.
        std::vector<float> x = sg::test::noise(30000, 10.0f, std::uint32_t(i + 3));
        const std::vector<float> tone = sg::test::sine(21600, 0.95, 44100, 30000);
        for (std::size_t n = 0; n < x.size(); ++n) x[n] = i % 2 ? tone[n] : std::clamp(x[n], -1.0f, 1.0f);
        const std::string file = dir.file(std::string("t") + std::to_string(i) + ".wav");
        sg::test::writeWav(file, {x}, 44100);
        inputs += std::string(" -i t") + std::to_string(i) + "=" + q(file);
    }
    std::string reference;
    // Block sizes too: on several threads render hands the executor rounds of internal blocks
    // (up to 64 of 1 frame, 2 of 8192).
    const std::vector<std::pair<std::string, std::string>> variants = {{"1", "300"}, {"2", "300"}, {"3", "300"},  {"auto", "300"},
                                                                       {"", "300"},  {"2", "1"},   {"2", "8192"}, {"3", "37"}};
    for (const auto& [threads, block] : variants) {
        const std::string tag = (threads.empty() ? std::string("default") : threads) + "-" + block;
        const std::string out = dir.file("out-" + tag + ".wav"), report = dir.file("report-" + tag + ".json");
        const std::string args = "render " + q(graph) + inputs + " -o " + q(out) + " --format wav24 --block " + block +
                                 " --report " + q(report) + (threads.empty() ? "" : " --threads " + threads);
        const auto r = runCli(args);
        INFO(args << "\n" << r.err);
        REQUIRE(r.status == 0);
        const std::string bytes = bytesOf(out);
        REQUIRE(bytes.size() > 30000 * 6);
        if (reference.empty())
            reference = bytes;
        else
            CHECK(bytes == reference);
        std::ifstream in(report);
        const json j = json::parse(in);
        REQUIRE(j.contains("threads"));
        if (threads == "1") CHECK(j["threads"] == 1);
        if (threads == "2") CHECK(j["threads"] == 2);
        if (threads == "3") CHECK(j["threads"] == 3);
        CHECK(j["threads"].get<int>() >= 1);
    }
}

TEST_CASE("render --threads: 0, negative, too many or not a number is a usage error", "[cli][threads]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\n"
                                                  "nodes: {g: {type: gain, gain: -6 dB}}\nconnections: [\"mix -> g -> out\"]\n");
    sg::test::writeWav(dir.file("in.wav"), {std::vector<float>(100, 0.25f)});
    for (const char* bad : {"0", "-1", "-4", "65", "two", "2x", "1.5", "''"}) {
        CAPTURE(bad);
        const auto r =
            runCli("render " + q(graph) + " -i " + q(dir.file("in.wav")) + " -o " + q(dir.file("out.wav")) + " --threads " + bad);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("--threads"));
        CHECK(!std::ifstream(dir.file("out.wav")).good()); // nothing written
    }
    const auto help = runCli("render --help");
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("--threads"));
}

TEST_CASE("check --schedule --threads 2 shows each step's worker; dot is unaffected", "[cli][threads]") {
    TempDir dir;
    const std::string graph = dir.write("mix.yaml", mixGraph());
    const auto two = runCli("check " + q(graph) + " --schedule --threads 2");
    INFO(two.err);
    REQUIRE(two.status == 0);
    CHECK_THAT(two.out, Catch::Contains("workers: 2 threads"));
    CHECK_THAT(two.out, Catch::Contains("[worker 1]"));
    const auto one = runCli("check " + q(graph) + " --schedule");
    REQUIRE(one.status == 0);
    CHECK_THAT(one.out, !Catch::Contains("[worker"));
    for (const char* bad : {"0", "-2", "x"}) {
        const auto r = runCli("check " + q(graph) + " --schedule --threads " + bad);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("--threads"));
    }
    const auto dot = runCli("dot " + q(graph));
    CHECK(dot.status == 0);
    CHECK_THAT(dot.out, Catch::StartsWith("digraph"));
}
