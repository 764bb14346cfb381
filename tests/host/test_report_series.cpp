// `render --report`: each tap's time series reaches the JSON (key, unit, frames_per_value,
// sample_rate, reduction, values), the series' length matches the duration and its peak values
// match the per-step maxima computed here from the input file; taps without series keep their
// old form.
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

using namespace sg;
using namespace sg::test;

TEST_CASE("render --report: tap series with their length and values", "[report][levelhistory]") {
    TempDir dir;
    const double rate = 44100;
    const int frames = int(rate * 1.234);
    std::vector<std::vector<float>> channels{noise(frames, 0.25f, 1), sine(0.49 * rate, 0.9, rate, frames)};
    for (int n = frames / 2; n < frames / 2 + 4410; ++n) channels[0][std::size_t(n)] = 0.0f; // a silent step in L
    {
        AudioBuffer buffer(2, frames);
        for (int c = 0; c < 2; ++c)
            std::copy(channels[std::size_t(c)].begin(), channels[std::size_t(c)].end(), buffer.channel(c));
        io::AudioFileWriter writer;
        REQUIRE(writer.open(dir.file("in.wav"), io::OutputFormat::Wav32f, rate, 2) == "");
        REQUIRE(writer.write(buffer.view()) == "");
        REQUIRE(writer.commit() == "");
    }
    const std::string graph = dir.write("g.yaml", R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {hist: {type: levelhistory}, meter: {type: loudness}}
connections: ["mix -> hist -> meter -> out"]
)");
    const CommandResult result = runCli("render '" + graph + "' -i '" + dir.file("in.wav") + "' -o '" + dir.file("out.wav") +
                                        "' --format wav32f --report '" + dir.file("r.json") + "'");
    INFO(result.err);
    REQUIRE(result.status == 0);
    std::ifstream file(dir.file("r.json"));
    const nlohmann::json report = nlohmann::json::parse(file);
    const auto& taps = report.at("taps");
    REQUIRE(taps.size() == 2);
    CHECK(taps[0].at("node") == "hist");
    CHECK(taps[1].at("node") == "meter");
    CHECK_FALSE(taps[1].contains("series")); // a tap without series keeps its old keys only
    CHECK(taps[1].at("values").contains("integrated_lufs"));
    const auto& series = taps[0].at("series");
    REQUIRE(series.size() == 2);
    const auto& peak = series[1];
    CHECK(series[0].at("key") == "momentary_lufs");
    CHECK(peak.at("key") == "sample_peak_dbfs");
    CHECK(peak.at("unit") == "dBFS");
    CHECK(peak.at("reduction") == "max");
    CHECK(peak.at("sample_rate") == 44100);
    const int step = peak.at("frames_per_value");
    CHECK(step == 4410);
    const auto& values = peak.at("values");
    // 1.234 s at 10 values per second: 12 whole steps and a partial one.
    CHECK(values.size() == std::size_t((frames + step - 1) / step));
    CHECK(series[0].at("values").size() == values.size());
    for (std::size_t k = 0; k < values.size(); ++k) {
        float maxAbs = 0;
        for (int n = int(k) * step; n < std::min(frames, int(k + 1) * step); ++n)
            maxAbs = std::max({maxAbs, std::fabs(channels[0][std::size_t(n)]), std::fabs(channels[1][std::size_t(n)])});
        INFO("value " << k);
        REQUIRE(values[k].is_number());
        CHECK(values[k].get<double>() == Approx(20 * std::log10(double(maxAbs))).margin(1e-4));
    }
    // Momentary loudness is null (-inf) for no step here: the input is never silent on both channels.
    for (const auto& v : series[0].at("values")) CHECK(v.is_number());
}
