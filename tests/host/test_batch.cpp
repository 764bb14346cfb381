// `stagegraph batch` through the built command: every row's output equals `stagegraph render`'s
// bit for bit, shards partition the rows, resuming skips exactly the complete rows, a bad row
// fails alone, and bad manifests are refused with file:line:col before anything is rendered.
#include "core/Buffer.h"
#include "host/cli/Json.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

using namespace sg;
using sg::cli::Json;
using sg::test::runCli;
using sg::test::TempDir;

namespace fs = std::filesystem;

namespace {

const char* kGainGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: -6 dB}}
connections: ["mix -> g -> out"]
)";

/// Two named inputs summed, then a peak EQ and a gain: --set and named inputs matter.
const char* kTwoInputGraph = R"(stagegraph: 1
inputs: {a: {channels: 2}, b: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  eq: {type: peak, freq: 1 kHz, q: 1, gain: 3 dB}
  g: {type: gain, gain: -6 dB}
connections: ["a -> eq -> g -> out", "b -> eq"]
)";

std::string q(const std::string& path) { return "'" + path + "'"; }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A stereo float WAV of noise, `frames` long.
void writeNoiseWav(const std::string& path, int frames, std::uint32_t seed) {
    AudioBuffer buffer(2, frames);
    for (int c = 0; c < 2; ++c) {
        const auto samples = test::noise(frames, 0.25f, seed + std::uint32_t(c));
        std::copy(samples.begin(), samples.end(), buffer.channel(c));
    }
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, 48000, 2) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

/// The log's records, in order.
std::vector<Json> readLog(const std::string& path) {
    std::vector<Json> records;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        Json record = Json::parse(line, nullptr, false);
        REQUIRE(record.is_object());
        records.push_back(std::move(record));
    }
    return records;
}

/// Status per row index of the records of one run (the last `count` lines of the log).
std::map<int, std::string> statuses(const std::vector<Json>& records, std::size_t count) {
    std::map<int, std::string> out;
    REQUIRE(records.size() >= count);
    for (std::size_t k = records.size() - count; k < records.size(); ++k)
        out[records[k]["row"].get<int>()] = records[k]["status"].get<std::string>();
    return out;
}

/// No temporary file (".NAME.sg-PID.XXXXXX.tmp") left anywhere under `folder`.
bool noTemporaries(const std::string& folder) {
    for (const auto& entry : fs::recursive_directory_iterator(folder))
        if (entry.path().filename().string().find(".tmp") != std::string::npos) return false;
    return true;
}

fs::file_time_type mtime(const std::string& path) { return fs::last_write_time(path); }

} // namespace

TEST_CASE("batch: every row equals stagegraph render bit for bit (CSV and YAML, --jobs 2)", "[batch]") {
    TempDir dir;
    writeNoiseWav(dir.file("a.wav"), 48000, 1);
    writeNoiseWav(dir.file("b.wav"), 48000, 7);
    dir.write("two.yaml", kTwoInputGraph);
    const std::string streaming = test::sourceDir() + "/graphs/mastering/streaming.yaml";
    fs::create_directories(dir.file("csv"));
    fs::create_directories(dir.file("yaml"));
    // Paths are relative to the manifest's folder; the command runs elsewhere.
    dir.write("m.csv", "input,output,graph,set,target,ceiling,format\n"
                       "a.wav,csv/r0.wav," +
                           streaming +
                           ",,,,\n"
                           "b.wav,csv/r1.flac," +
                           streaming +
                           ",,spotify,-2dBTP,flac16\n"
                           "\"a=a.wav; b=b.wav\",csv/r2.wav,two.yaml,\"eq.gain=-2dB;g.gain=-1 dB\",,,wav32f\n");
    dir.write("m.yaml", "- {input: a.wav, output: yaml/r0.wav, graph: " + streaming +
                            "}\n"
                            "- {input: b.wav, output: yaml/r1.flac, graph: " +
                            streaming +
                            ", target: spotify, ceiling: -2dBTP, format: flac16}\n"
                            "- input: {a: a.wav, b: b.wav}\n"
                            "  output: yaml/r2.wav\n"
                            "  graph: two.yaml\n"
                            "  set: [eq.gain=-2dB, g.gain=-1 dB]\n"
                            "  format: wav32f\n");
    auto csv = runCli("batch " + q(dir.file("m.csv")) + " --jobs 2 --log " + q(dir.file("csv.jsonl")));
    INFO(csv.err);
    REQUIRE(csv.status == 0);
    auto yaml = runCli("batch " + q(dir.file("m.yaml")) + " --log " + q(dir.file("yaml.jsonl")));
    INFO(yaml.err);
    REQUIRE(yaml.status == 0);

    const std::vector<std::string> renderArgs = {
        q(streaming) + " -i " + q(dir.file("a.wav")) + " -o " + q(dir.file("render0.wav")),
        q(streaming) + " -i " + q(dir.file("b.wav")) + " -o " + q(dir.file("render1.flac")) +
            " --target spotify --ceiling -2dBTP --format flac16",
        q(dir.file("two.yaml")) + " -i a=" + q(dir.file("a.wav")) + " -i b=" + q(dir.file("b.wav")) + " -o " +
            q(dir.file("render2.wav")) + " --set eq.gain=-2dB --set 'g.gain=-1 dB' --format wav32f"};
    const std::vector<std::string> names = {"r0.wav", "r1.flac", "r2.wav"},
                                   rendered = {"render0.wav", "render1.flac", "render2.wav"};
    for (std::size_t k = 0; k < renderArgs.size(); ++k) {
        auto r = runCli("render " + renderArgs[k]);
        INFO(r.err);
        REQUIRE(r.status == 0);
        const std::string reference = slurp(dir.file(rendered[k]));
        REQUIRE(reference.size() > 1000);
        CHECK(slurp(dir.file("csv/" + names[k])) == reference);
        CHECK(slurp(dir.file("yaml/" + names[k])) == reference);
    }

    // The log's figures are the written files' (analyze measures them independently).
    auto records = readLog(dir.file("csv.jsonl"));
    REQUIRE(records.size() == 3);
    std::sort(records.begin(), records.end(),
              [](const Json& a, const Json& b) { return a["row"] < b["row"]; }); // --jobs 2: any order
    for (const auto& record : records) {
        CAPTURE(record.dump());
        REQUIRE(record["status"] == "ok");
        const Json& out = record["outputs"][0];
        auto analyze = runCli("analyze --json " + q(out["file"].get<std::string>()));
        REQUIRE(analyze.status == 0);
        Json measured = Json::parse(analyze.out, nullptr, false);
        if (measured.is_array()) measured = measured[0];
        REQUIRE(measured.is_object());
        CHECK(out["integrated_lufs"].get<double>() == Approx(measured["integrated_lufs"].get<double>()).margin(0.01));
        CHECK(out["true_peak_dbtp"].get<double>() == Approx(measured["true_peak_dbtp"].get<double>()).margin(0.01));
    }
    CHECK(records[1]["outputs"][0]["integrated_lufs"].get<double>() == Approx(-14).margin(0.1)); // spotify
    CHECK(records[1]["outputs"][0]["true_peak_dbtp"].get<double>() <= -2.0);
    CHECK(records[1]["outputs"][0].contains("gain_db"));
}

TEST_CASE("batch: each output in the log is the output --report shows for the same render", "[batch]") {
    // Hostile material: noise driven +20 dB into clipping plus a near-Nyquist tone, at 44.1 kHz.
    TempDir dir;
    const int frames = 2 * 44100;
    AudioBuffer buffer(2, frames);
    for (int c = 0; c < 2; ++c) {
        const auto driven = test::drivenNoise(frames, 21000, 44100, 11 + std::uint32_t(c));
        std::copy(driven.begin(), driven.end(), buffer.channel(c));
    }
    io::AudioFileWriter writer;
    REQUIRE(writer.open(dir.file("in.wav"), io::OutputFormat::Wav32f, 44100, 2) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
    const std::string streaming = test::sourceDir() + "/graphs/mastering/streaming.yaml";
    dir.write("m.csv", "input,output,graph,target,format\n"
                       "in.wav,t.wav," +
                           streaming +
                           ",spotify,\n"
                           "in.wav,p.flac," +
                           streaming + ",,flac16\n");
    auto batch = runCli("batch " + q(dir.file("m.csv")) + " --log " + q(dir.file("log.jsonl")));
    INFO(batch.err);
    REQUIRE(batch.status == 0);
    auto records = readLog(dir.file("log.jsonl"));
    REQUIRE(records.size() == 2);
    std::sort(records.begin(), records.end(), [](const Json& a, const Json& b) { return a["row"] < b["row"]; });

    const std::vector<std::string> renderArgs = {" -o " + q(dir.file("rt.wav")) + " --target spotify",
                                                 " -o " + q(dir.file("rp.flac")) + " --format flac16"};
    // --target's figures: nested under "target" in the report, beside the others in the log.
    const std::vector<std::string> targetKeys = {"before_integrated_lufs", "before_true_peak_dbtp", "gain_db",
                                                 "max_gain_reduction_db", "mean_gain_reduction_db"};
    for (std::size_t k = 0; k < renderArgs.size(); ++k) {
        const std::string report = dir.file("report" + std::to_string(k) + ".json");
        auto r = runCli("render " + q(streaming) + " -i " + q(dir.file("in.wav")) + renderArgs[k] + " --report " + q(report));
        INFO(r.err);
        REQUIRE(r.status == 0);
        const Json reported = Json::parse(slurp(report), nullptr, false);
        REQUIRE(reported.is_object());
        REQUIRE(records[k]["status"] == "ok");
        const Json& logged = records[k]["outputs"][0];
        const Json& shown = reported["outputs"][0];
        CAPTURE(logged.dump(), shown.dump());
        CHECK(records[k]["sample_rate"] == reported["sample_rate"]);
        CHECK(records[k]["frames"] == reported["frames"]);
        CHECK(records[k]["latency_frames"] == reported["latency_frames"]);
        // The same keys in the same order, the same values (the files differ only in name).
        std::vector<std::string> loggedKeys, shownKeys;
        for (const auto& item : logged.items()) loggedKeys.push_back(item.key());
        for (const auto& item : shown.items())
            if (item.key() != "target") shownKeys.push_back(item.key());
        REQUIRE(loggedKeys.size() == shownKeys.size() + (k == 0 ? targetKeys.size() : 0));
        CHECK(std::equal(shownKeys.begin(), shownKeys.end(), loggedKeys.begin()));
        CHECK(shownKeys.size() > 10); // the figures are there
        for (const auto& key : shownKeys) {
            CAPTURE(key);
            if (key != "file") CHECK(logged[key] == shown[key]);
        }
        CHECK(logged["integrated_lufs"].is_number()); // measured
        CHECK(shown.contains("target") == (k == 0));
        if (k == 0)
            for (const auto& key : targetKeys) {
                CAPTURE(key);
                CHECK(logged[key] == shown["target"][key]);
            }
    }
}

TEST_CASE("batch: --shard K/N partitions the rows exactly; bad shards are usage errors", "[batch]") {
    TempDir dir;
    writeNoiseWav(dir.file("in.wav"), 4800, 3);
    dir.write("gain.yaml", kGainGraph);
    std::string manifest = "input,output,graph\n";
    const int rows = 7, shards = 3;
    for (int i = 0; i < rows; ++i) manifest += "in.wav,out" + std::to_string(i) + ".wav,gain.yaml\n";
    dir.write("m.csv", manifest);
    std::map<int, int> shardOfRow;
    for (int k = 0; k < shards; ++k) {
        const std::string log = dir.file("shard" + std::to_string(k) + ".jsonl");
        auto r = runCli("batch " + q(dir.file("m.csv")) + " --shard " + std::to_string(k) + "/" + std::to_string(shards) +
                        " --log " + q(log));
        INFO(r.err);
        REQUIRE(r.status == 0);
        for (const auto& record : readLog(log)) {
            CHECK(record["status"] == "ok");
            const int row = record["row"].get<int>();
            CHECK(shardOfRow.emplace(row, k).second); // never in two shards
            CHECK(row % shards == k);
        }
    }
    CHECK(shardOfRow.size() == std::size_t(rows));
    for (int i = 0; i < rows; ++i) CHECK(fs::exists(dir.file("out" + std::to_string(i) + ".wav")));

    for (const char* bad : {"3/3", "-1/3", "1/0", "a/b", "1", "1/2/3", "0/", " 0/2"}) {
        auto r = runCli("batch " + q(dir.file("m.csv")) + " --shard '" + bad + "'");
        CAPTURE(bad, r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("--shard"));
    }
    for (const char* bad : {"0", "-2", "65", "x"}) {
        auto r = runCli("batch " + q(dir.file("m.csv")) + " --jobs '" + bad + "'");
        CAPTURE(bad, r.err);
        CHECK(r.status == 2);
        CHECK_THAT(r.err, Catch::Contains("--jobs"));
    }
}

TEST_CASE("batch: resuming skips complete rows and renders deleted, stale and changed ones", "[batch]") {
    TempDir dir;
    writeNoiseWav(dir.file("a.wav"), 4800, 5);
    writeNoiseWav(dir.file("b.wav"), 4800, 9);
    dir.write("gain.yaml", kGainGraph);
    const std::string header = "input,output,graph,set\n";
    dir.write("m.csv", header + "a.wav,o0.wav,gain.yaml,\nb.wav,o1.wav,gain.yaml,\na.wav,o2.wav,gain.yaml,g.gain=-1dB\n");
    const std::string log = dir.file("log.jsonl");
    const std::string batch = "batch " + q(dir.file("m.csv")) + " --jobs 2 --log " + q(log);
    auto run = [&](std::size_t rowsExpected) {
        auto r = runCli(batch);
        INFO(r.err);
        REQUIRE(r.status == 0);
        return statuses(readLog(log), rowsExpected);
    };
    CHECK(run(3) == std::map<int, std::string>{{0, "ok"}, {1, "ok"}, {2, "ok"}});
    const std::string first = slurp(dir.file("o1.wav"));
    const auto firstTime = mtime(dir.file("o1.wav"));

    // Everything complete: nothing is rendered again.
    CHECK(run(3) == std::map<int, std::string>{{0, "skipped"}, {1, "skipped"}, {2, "skipped"}});
    CHECK(mtime(dir.file("o1.wav")) == firstTime);

    // A deleted output is rendered again, identical to the first time.
    fs::remove(dir.file("o1.wav"));
    CHECK(run(3) == std::map<int, std::string>{{0, "skipped"}, {1, "ok"}, {2, "skipped"}});
    CHECK(slurp(dir.file("o1.wav")) == first);

    // An input newer than its output makes the row stale.
    fs::last_write_time(dir.file("o1.wav"), mtime(dir.file("b.wav")) - std::chrono::seconds(5));
    CHECK(run(3) == std::map<int, std::string>{{0, "skipped"}, {1, "ok"}, {2, "skipped"}});

    // A changed setting in the manifest is recorded in the log: that row only is rendered again.
    dir.write("m.csv", header + "a.wav,o0.wav,gain.yaml,\nb.wav,o1.wav,gain.yaml,\na.wav,o2.wav,gain.yaml,g.gain=-2dB\n");
    CHECK(run(3) == std::map<int, std::string>{{0, "skipped"}, {1, "skipped"}, {2, "ok"}});

    // --force renders every row.
    auto forced = runCli(batch + " --force");
    REQUIRE(forced.status == 0);
    CHECK(statuses(readLog(log), 3) == std::map<int, std::string>{{0, "ok"}, {1, "ok"}, {2, "ok"}});

    // Without a log the rule is the files' times alone.
    auto noLog = runCli("batch " + q(dir.file("m.csv")));
    REQUIRE(noLog.status == 0);
    CHECK_THAT(noLog.out, Catch::Contains("0 rendered, 3 skipped, 0 failed"));
}

TEST_CASE("batch: a bad row fails alone, with its error in the log and exit status 1", "[batch]") {
    TempDir dir;
    writeNoiseWav(dir.file("in.wav"), 4800, 2);
    dir.write("gain.yaml", kGainGraph);
    dir.write("bad.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                          "nodes: {g: {type: gain, gain: 3 Hz}}\nconnections: [\"mix -> g -> out\"]\n");
    dir.write("m.csv", "input,output,graph,set\n"
                       "in.wav,ok0.wav,gain.yaml,\n"
                       "missing.wav,bad1.wav,gain.yaml,\n"
                       "in.wav,bad2.wav,bad.yaml,\n"
                       "in.wav,bad3.wav,gain.yaml,nosuch.gain=-3dB\n"
                       "in.wav,bad4.wav,gain.yaml,g.gain=3 Hz\n"
                       "in.wav,ok5.wav,gain.yaml,\n");
    auto r = runCli("batch " + q(dir.file("m.csv")) + " --jobs 2 --log " + q(dir.file("log.jsonl")));
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Catch::Contains("2 rendered, 0 skipped, 4 failed"));
    CHECK_THAT(r.err, Catch::Contains("m.csv:3"));
    std::map<int, Json> byRow;
    for (auto& record : readLog(dir.file("log.jsonl"))) byRow[record["row"].get<int>()] = record;
    REQUIRE(byRow.size() == 6);
    CHECK(byRow[0]["status"] == "ok");
    CHECK(byRow[5]["status"] == "ok");
    for (int row = 1; row <= 4; ++row) {
        CAPTURE(byRow[row].dump());
        CHECK(byRow[row]["status"] == "error");
        CHECK(fs::exists(dir.file("bad" + std::to_string(row) + ".wav")) == false);
    }
    CHECK_THAT(byRow[1]["error"].get<std::string>(), Catch::Contains("missing.wav"));
    CHECK(byRow[1]["exit_status"] == 1);
    CHECK_THAT(byRow[2]["error"].get<std::string>(), Catch::Contains("bad.yaml:4:"));
    CHECK(byRow[2]["exit_status"] == 2);
    CHECK_THAT(byRow[3]["error"].get<std::string>(), Catch::Contains("nosuch"));
    CHECK_THAT(byRow[4]["error"].get<std::string>(), Catch::Contains("gain"));
    CHECK(fs::exists(dir.file("ok0.wav")));
    CHECK(fs::exists(dir.file("ok5.wav")));
    CHECK(noTemporaries(dir.path()));
}

TEST_CASE("batch: bad manifests are refused with file:line:col, every error, nothing rendered", "[batch]") {
    TempDir dir;
    writeNoiseWav(dir.file("in.wav"), 4800, 4);
    dir.write("gain.yaml", kGainGraph);
    struct Case {
        const char* name;
        std::string text;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases = {
        {"unknown.csv",
         "input,output,graph,bogus\nin.wav,o.wav,gain.yaml,1\n",
         {"unknown.csv:1:20: error: unknown column 'bogus'"}},
        {"missing.csv", "input,output\nin.wav,o.wav\n", {"missing.csv:1:1: error: missing column 'graph'"}},
        {"empty.csv", "", {"empty.csv:1:1: error: the manifest is empty"}},
        {"blank.yaml", "\n\n", {"blank.yaml:1:1: error: the manifest is empty"}},
        {"binary.csv",
         std::string("input,output,graph\n\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 31),
         {"binary.csv:2:1: error: not a text manifest"}},
        {"nul.yaml", std::string("- {input: in.wav\0}", 18), {"nul.yaml:1:17: error: not a text manifest: a NUL byte"}},
        {"fields.csv", "input,output,graph\nin.wav,o.wav,gain.yaml,extra\n", {"fields.csv:2:24: error: this row has 4 fields"}},
        {"quote.csv", "input,output,graph\n\"in.wav,o.wav,gain.yaml\n", {"quote.csv:2:1: error: a quoted field is never closed"}},
        {"values.csv",
         "input,output,graph,target,ceiling,format,set\n"
         "in.wav,o1.wav,gain.yaml,-99LUFS,,,\n"
         "in.wav,o2.wav,gain.yaml,,-1dBTP,mp4,novalue\n"
         "in.wav,,gain.yaml,,,,\n"
         "in.wav,o1.wav,,,,,\n",
         {"values.csv:2:25: error: target:", "values.csv:3:26: error: ceiling needs a target",
          "values.csv:3:33: error: format: unknown format 'mp4'", "values.csv:3:37: error: set: expected node.param=VALUE",
          "values.csv:4:8: error: this row names no output file", "values.csv:5:15: error: this row names no graph",
          "values.csv:5:8: error: output", "is also written by the row on line 2"}},
        {"chain.csv",
         "input,output,graph\nin.wav,o.wav,gain.yaml\no.wav,p.wav,gain.yaml\n",
         {"chain.csv:3:1: error: input", "is the output of the row on line 2"}},
        {"list.yaml", "input: in.wav\n", {"list.yaml:1:1: error: expected a list of rows"}},
        {"keys.yaml",
         "- {input: in.wav, output: o.wav, graph: gain.yaml, sett: a=1}\n- {input: in.wav, graph: gain.yaml}\n",
         {"keys.yaml:1:52: error: unknown column 'sett'", "keys.yaml:2:3: error: missing column 'output'"}},
        {"syntax.yaml", "- {input: in.wav, output: [o.wav\n", {"syntax.yaml:2:1: error:"}},
        {"two.yaml",
         "- {input: in.wav, output: o.wav, graph: gain.yaml}\n---\n- {input: in.wav, output: p.wav, graph: gain.yaml}\n",
         {"two.yaml:3:1: error: a second YAML document"}},
        {"manifest.txt", "input,output,graph\n", {"manifest.txt: error: cannot tell the manifest's format"}},
        {"deep.yaml",
         "- " + std::string(100000, '[') + std::string(100000, ']') + "\n",
         {"deep.yaml:1:", "nested more than 8 deep"}},
    };
    for (const auto& c : cases) {
        std::ofstream(dir.file(c.name), std::ios::binary) << c.text;
        auto r = runCli("batch " + q(dir.file(c.name)));
        CAPTURE(c.name, r.err);
        CHECK(r.status == 2);
        for (const auto& expected : c.expected)
            CHECK_THAT(r.err, Catch::Contains(expected.rfind(c.name, 0) == 0 ? dir.path() + "/" + expected : expected));
    }
    auto missing = runCli("batch " + q(dir.file("nothere.csv")));
    CHECK(missing.status == 2);
    CHECK_THAT(missing.err, Catch::Contains("nothere.csv: error: cannot read the manifest: No such file or directory"));
    auto help = runCli("batch --help");
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Catch::Contains("usage: stagegraph batch MANIFEST"));
    CHECK_THAT(runCli("--help").out, Catch::Contains("stagegraph batch MANIFEST"));
    auto none = runCli("batch");
    CHECK(none.status == 2);
    CHECK_THAT(none.err, Catch::Contains("no manifest given"));
    // Nothing was rendered by any of them.
    for (const char* out : {"o.wav", "o1.wav", "o2.wav", "p.wav"}) CHECK_FALSE(fs::exists(dir.file(out)));
    // A header alone is a catalogue of no rows.
    dir.write("header.csv", "input,output,graph\n");
    auto header = runCli("batch " + q(dir.file("header.csv")));
    CHECK(header.status == 0);
    CHECK_THAT(header.out, Catch::Contains("0 rows"));
}
