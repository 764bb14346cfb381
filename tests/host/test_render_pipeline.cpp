// The pipelined render (reader thread, executor, writer thread) against a plain single-threaded
// loop written here: the same bytes for every output format and block size, and errors met by
// the reader ahead of the executor still reported where a sequential render meets them.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"
#include "host/cli/CommandLine.h"
#include "host/cli/Render.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::runCli;
using sg::test::TempDir;

namespace {

// Latency (the limiter's lookahead), two inputs of different lengths, and a mono output hot
// enough to clip.
const char* kPipelineGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}, side: {channels: 1}}
outputs: {master: {channels: 2}, loud: {channels: 1}}
nodes:
  hpf: {type: highpass, freq: 30 Hz, slope: 24}
  limit: {type: limiter, ceiling: -1 dBTP, lookahead: 5 ms, release: 50 ms}
  hot: {type: gain, gain: 12 dB}
connections: ["mix -> hpf -> limit -> master", "side -> hot -> loud"]
)";

const char* kGainGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: -6 dB}}
connections: ["mix -> g -> out"]
)";

std::string q(const std::string& path) { return "'" + path + "'"; }

void writeFloatWav(const std::string& path, const std::vector<std::vector<float>>& channels) {
    AudioBuffer buffer(int(channels.size()), int(channels[0].size()));
    for (std::size_t c = 0; c < channels.size(); ++c) std::copy(channels[c].begin(), channels[c].end(), buffer.channel(int(c)));
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, 48000, buffer.channels()) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

std::string fileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Every input read whole, padded with silence, run block by block on this thread, the latency
/// dropped, each output written in one call. Returns the clipped-sample counts.
std::vector<std::uint64_t> referenceRender(const std::string& graphText,
                                           const std::vector<std::pair<std::string, std::string>>& inputs,
                                           const std::vector<std::pair<std::string, std::string>>& outputs,
                                           io::OutputFormat format, int block) {
    Diagnostics diags;
    GraphDesc graph = loadGraphFromString(graphText, "reference.yaml", ".", diags);
    REQUIRE_FALSE(diags.hasErrors());
    CompileOptions options;
    options.sampleRate = 48000;
    options.maxBlockFrames = block;
    auto program = compileGraph(graph, Registry::builtin(), options, diags);
    REQUIRE(program);
    Executor& executor = program->executor();
    const int latency = executor.latencyFrames();

    std::vector<io::AudioFileReader> readers(inputs.size());
    std::int64_t total = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        REQUIRE(readers[i].open(inputs[i].second) == "");
        total = std::max(total, readers[i].frames());
    }
    const int framesToProcess = int(total) + latency;
    std::vector<AudioBuffer> in, out;
    std::vector<ConstAudioView> inViews;
    std::vector<AudioView> outViews;
    for (const auto& port : executor.inputs()) {
        auto it = std::find_if(inputs.begin(), inputs.end(), [&](const auto& p) { return p.first == port.name; });
        REQUIRE(it != inputs.end());
        in.emplace_back(port.channels, framesToProcess);
        in.back().view().clear();
        io::AudioFileReader& reader = readers[std::size_t(it - inputs.begin())];
        REQUIRE(reader.read(in.back().view().frameRange(0, int(reader.frames()))) == reader.frames());
    }
    for (const auto& port : executor.outputs()) out.emplace_back(port.channels, framesToProcess);
    for (int position = 0; position < framesToProcess; position += block) {
        const int frames = std::min(block, framesToProcess - position);
        inViews.clear();
        outViews.clear();
        for (auto& b : in) inViews.push_back(b.view().frameRange(position, frames));
        for (auto& b : out) outViews.push_back(b.view().frameRange(position, frames));
        executor.process(inViews, outViews);
    }
    REQUIRE(executor.nonFiniteSamples() == 0);
    std::vector<std::uint64_t> clipped;
    for (std::size_t k = 0; k < executor.outputs().size(); ++k) {
        const std::string& name = executor.outputs()[k].name;
        auto it = std::find_if(outputs.begin(), outputs.end(), [&](const auto& p) { return p.first == name; });
        REQUIRE(it != outputs.end());
        io::AudioFileWriter writer;
        REQUIRE(writer.open(it->second, format, 48000, out[k].channels()) == "");
        REQUIRE(writer.write(out[k].view().frameRange(latency, int(total))) == "");
        REQUIRE(writer.commit() == "");
        clipped.push_back(writer.clippedSamples());
    }
    return clipped;
}

bool hasTemporaryFiles(const std::string& folder) {
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.path().extension() == ".tmp") return true;
    return false;
}

} // namespace

TEST_CASE("pipelined render writes the bytes of a single-threaded loop for every format and block size", "[render][pipeline]") {
    TempDir dir;
    const std::string graph = dir.write("graph.yaml", kPipelineGraph);
    // Longer than two pipeline chunks (16384 frames), so chunks are recycled; the side input
    // ends mid-chunk and is padded.
    const int mixFrames = 41000, sideFrames = 23456;
    writeFloatWav(dir.file("mix.wav"), {test::noise(mixFrames, 0.7f, 3), test::noise(mixFrames, 0.7f, 4)});
    writeFloatWav(dir.file("side.wav"), {test::noise(sideFrames, 0.5f, 5)});
    const std::vector<std::pair<std::string, std::string>> inputs = {{"mix", dir.file("mix.wav")},
                                                                     {"side", dir.file("side.wav")}};

    const io::OutputFormat formats[] = {io::OutputFormat::Wav16, io::OutputFormat::Wav24, io::OutputFormat::Wav32f,
                                        io::OutputFormat::Flac16, io::OutputFormat::Flac24};
    for (io::OutputFormat format : formats) {
        for (int block : {1, 7, 1000, 8192}) {
            CAPTURE(io::outputFormatName(format), block);
            const std::string ext = (format == io::OutputFormat::Flac16 || format == io::OutputFormat::Flac24) ? ".flac" : ".wav";
            const std::vector<std::pair<std::string, std::string>> expected = {{"master", dir.file("ref-master" + ext)},
                                                                               {"loud", dir.file("ref-loud" + ext)}};
            const std::vector<std::uint64_t> refClipped = referenceRender(kPipelineGraph, inputs, expected, format, block);

            cli::RenderRequest request;
            request.graphPath = graph;
            request.inputs = {"mix=" + inputs[0].second, "side=" + inputs[1].second};
            request.outputs = {"master=" + dir.file("master" + ext), "loud=" + dir.file("loud" + ext)};
            request.format = format;
            request.blockFrames = block;
            request.printSummary = false;
            request.showProgress = false;
            cli::RenderSummary summary;
            REQUIRE(cli::render(request, &summary) == cli::kExitOk);

            const std::string master = fileBytes(dir.file("master" + ext)), loud = fileBytes(dir.file("loud" + ext));
            CHECK(master.size() > std::size_t(mixFrames));
            CHECK(master == fileBytes(expected[0].second));
            CHECK(loud == fileBytes(expected[1].second));
            REQUIRE(summary.outputs.size() == 2);
            CHECK(summary.frames == mixFrames);
            for (std::size_t k = 0; k < 2; ++k) CHECK(summary.outputs[k].clippedSamples == refClipped[k]);
            // +12 dB on noise peaking at 0.5: integer formats clip, float does not.
            if (format != io::OutputFormat::Wav32f) CHECK(refClipped[1] > 0);
            CHECK_FALSE(hasTemporaryFiles(dir.path()));
        }
    }
}

TEST_CASE("pipelined render reports an input truncated far ahead of the executor, and nothing else", "[render][pipeline]") {
    TempDir dir;
    const std::string graph = dir.write("gain.yaml", kGainGraph);
    const int frames = 200000;
    const std::int64_t keptFrames = 120000; // 8 bytes a frame after the 4096-byte-ish header
    std::vector<std::vector<float>> input = {test::noise(frames, 0.5f, 7), test::noise(frames, 0.5f, 8)};

    SECTION("the truncation: status 1, the file named, no output, no temporary file") {
        writeFloatWav(dir.file("cut.wav"), input);
        const auto size = fs::file_size(dir.file("cut.wav"));
        REQUIRE(::truncate(dir.file("cut.wav").c_str(), off_t(size - std::uintmax_t(frames - keptFrames) * 8)) == 0);
        for (int block : {1, 64, 8192}) {
            CAPTURE(block);
            auto r = runCli("render " + q(graph) + " -i " + q(dir.file("cut.wav")) + " -o " + q(dir.file("out.wav")) +
                            " --block " + std::to_string(block));
            CHECK(r.status == 1);
            CHECK_THAT(r.err, Catch::Contains(dir.file("cut.wav")) && Catch::Contains("truncated") &&
                                  Catch::Contains("ends at frame " + std::to_string(keptFrames)));
            CHECK_FALSE(fs::exists(dir.file("out.wav")));
            CHECK_FALSE(hasTemporaryFiles(dir.path()));
        }
    }
    SECTION("a NaN before the truncation is what a sequential render meets first") {
        input[0][5000] = std::numeric_limits<float>::quiet_NaN();
        writeFloatWav(dir.file("cut.wav"), input);
        const auto size = fs::file_size(dir.file("cut.wav"));
        REQUIRE(::truncate(dir.file("cut.wav").c_str(), off_t(size - std::uintmax_t(frames - keptFrames) * 8)) == 0);
        auto r =
            runCli("render " + q(graph) + " -i " + q(dir.file("cut.wav")) + " -o " + q(dir.file("out.wav")) + " --block 256");
        CHECK(r.status == 1);
        CHECK_THAT(r.err, Catch::Contains("first at frame 5000") && !Catch::Contains("truncated"));
        CHECK_FALSE(fs::exists(dir.file("out.wav")));
        CHECK_FALSE(hasTemporaryFiles(dir.path()));
    }
}
