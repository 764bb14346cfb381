// --html on compare, render and analyze, shown in a real browser: headless Chromium (Debian's
// `chromium`) loads each page; its DOM after the page's script ran is checked against the data
// (one bar per octave band and stream, one loudness line per stream with one point per 100 ms,
// one gain-reduction line per limiter, the diagram's nodes), and a screenshot is decoded (PNG
// through zlib) to check the plots are actually painted in their colours. Plus: a missing
// plotting library is a clear error before any work, and the page never overwrites an input.
#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace sg;
using sg::test::TempDir;

namespace {

constexpr double kRate = 48000;

std::string q(const std::string& path) { return "'" + path + "'"; }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

void writeWav(const std::string& path, const std::vector<std::vector<float>>& channels) {
    AudioBuffer buffer(int(channels.size()), int(channels[0].size()));
    for (std::size_t c = 0; c < channels.size(); ++c) std::copy(channels[c].begin(), channels[c].end(), buffer.channel(int(c)));
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, kRate, buffer.channels()) == "");
    REQUIRE(writer.write(buffer.view()) == "");
    REQUIRE(writer.commit() == "");
}

/// A stereo mix whose level swells, so the limiter below has work to do.
std::string writeMix(const TempDir& dir, double seconds) {
    const auto frames = std::int64_t(seconds * kRate);
    std::vector<std::vector<float>> x{test::noise(frames, 0.4f, 3), test::noise(frames, 0.4f, 4)};
    for (auto& channel : x)
        for (std::int64_t n = 0; n < frames; ++n) channel[std::size_t(n)] *= float(0.2 + 0.8 * double(n) / double(frames));
    const std::string path = dir.file("mix.wav");
    writeWav(path, x);
    return path;
}

std::string chainGraph(const std::string& nodes, const std::string& chain) {
    return "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {master: {channels: 2}}\nnodes: {" + nodes +
           "}\nconnections: [\"mix -> " + chain + " -> master\"]\n";
}

/// Headless Chromium with its own profile folder (tests may run side by side).
std::string chromium(const TempDir& dir, const std::string& arguments, const std::string& page) {
    return "chromium --headless --no-sandbox --disable-gpu --user-data-dir=" + q(dir.file("profile")) + " " + arguments +
           " 'file://" + page + "' 2>/dev/null";
}

/// The DOM of `page` after its scripts ran.
std::string dumpDom(const TempDir& dir, const std::string& page) {
    const auto result = test::runShell(chromium(dir, "--dump-dom", page));
    REQUIRE(result.status == 0);
    return result.out;
}

/// The points of every <path class="CLASS" d="M…L…">: one count per path.
std::vector<std::size_t> pathPoints(const std::string& dom, const std::string& cls) {
    std::vector<std::size_t> points;
    const std::string tag = "class=\"" + cls + "\"";
    for (auto at = dom.find(tag); at != std::string::npos; at = dom.find(tag, at + 1)) {
        const auto start = dom.rfind("<path", at);
        const auto d = dom.find(" d=\"", start);
        const auto end = dom.find('"', d + 4);
        const std::string path = dom.substr(d + 4, end - d - 4);
        points.push_back(std::size_t(std::count(path.begin(), path.end(), 'M') + std::count(path.begin(), path.end(), 'L')));
    }
    return points;
}

/// An 8-bit RGB or RGBA, non-interlaced PNG, decoded: what Chromium writes for screenshots.
struct Image {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb; ///< 3 bytes per pixel
};

std::uint32_t bigEndian(const std::string& s, std::size_t at) {
    return std::uint32_t(std::uint8_t(s[at])) << 24 | std::uint32_t(std::uint8_t(s[at + 1])) << 16 |
           std::uint32_t(std::uint8_t(s[at + 2])) << 8 | std::uint32_t(std::uint8_t(s[at + 3]));
}

Image decodePng(const std::string& file) {
    REQUIRE(file.size() > 8);
    REQUIRE(file.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    Image image;
    int colourType = 0;
    std::string compressed;
    for (std::size_t at = 8; at + 8 <= file.size();) {
        const std::uint32_t length = bigEndian(file, at);
        const std::string type = file.substr(at + 4, 4);
        if (type == "IHDR") {
            image.width = int(bigEndian(file, at + 8));
            image.height = int(bigEndian(file, at + 12));
            REQUIRE(file[at + 16] == 8); // bit depth
            colourType = file[at + 17];
            REQUIRE((colourType == 2 || colourType == 6));
            REQUIRE(file[at + 20] == 0); // not interlaced
        } else if (type == "IDAT") {
            compressed += file.substr(at + 8, length);
        }
        at += 12 + length;
    }
    const int channels = colourType == 6 ? 4 : 3;
    const std::size_t stride = std::size_t(image.width) * std::size_t(channels);
    std::vector<std::uint8_t> raw((stride + 1) * std::size_t(image.height));
    uLongf rawSize = uLongf(raw.size());
    REQUIRE(uncompress(raw.data(), &rawSize, reinterpret_cast<const Bytef*>(compressed.data()), uLong(compressed.size())) ==
            Z_OK);
    REQUIRE(rawSize == raw.size());
    std::vector<std::uint8_t> pixels(stride * std::size_t(image.height)), previous(stride, 0);
    for (int y = 0; y < image.height; ++y) {
        const std::uint8_t filter = raw[std::size_t(y) * (stride + 1)];
        const std::uint8_t* in = &raw[std::size_t(y) * (stride + 1) + 1];
        std::uint8_t* out = &pixels[std::size_t(y) * stride];
        for (std::size_t i = 0; i < stride; ++i) {
            const int a = i >= std::size_t(channels) ? out[i - std::size_t(channels)] : 0, b = previous[i];
            const int c = i >= std::size_t(channels) ? previous[i - std::size_t(channels)] : 0;
            int predictor = 0;
            switch (filter) {
            case 0:
                predictor = 0;
                break;
            case 1:
                predictor = a;
                break;
            case 2:
                predictor = b;
                break;
            case 3:
                predictor = (a + b) / 2;
                break;
            case 4: {
                const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
                predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                break;
            }
            default:
                FAIL("PNG filter type " << int(filter));
            }
            out[i] = std::uint8_t(in[i] + predictor);
        }
        std::copy(out, out + stride, previous.begin());
    }
    for (std::size_t p = 0; p < std::size_t(image.width) * std::size_t(image.height); ++p)
        for (int k = 0; k < 3; ++k) image.rgb.push_back(pixels[p * std::size_t(channels) + std::size_t(k)]);
    return image;
}

/// Pixels within 3 of (r, g, b) on every channel.
std::size_t pixelsOf(const Image& image, int r, int g, int b) {
    std::size_t n = 0;
    for (std::size_t p = 0; p + 2 < image.rgb.size(); p += 3)
        if (std::abs(image.rgb[p] - r) <= 3 && std::abs(image.rgb[p + 1] - g) <= 3 && std::abs(image.rgb[p + 2] - b) <= 3) ++n;
    return n;
}

} // namespace

TEST_CASE("compare --html: the page draws every candidate's plots in Chromium", "[html][compare][cli]") {
    TempDir dir;
    const std::string mix = writeMix(dir, 5);
    const std::string plain = dir.write("plain.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const std::string limited =
        dir.write("limited.yaml", chainGraph("g: {type: gain, gain: 6 dB}, lim: {type: limiter, ceiling: -3 dBTP}", "g -> lim"));
    const std::string page = dir.file("report.html");
    const auto run = test::runCli("compare " + q(plain) + " " + q(limited) + " -i " + q(mix) + " --html " + q(page));
    INFO(run.err);
    REQUIRE(run.status == 0);
    const std::string html = slurp(page);
    CHECK(html.find("d3={version:\"3.") != std::string::npos); // the library is inlined: the page works offline
    CHECK(html.find("<script src") == std::string::npos);

    const std::string dom = dumpDom(dir, page);
    CHECK(dom.find("data-rendered=\"yes\"") != std::string::npos); // the page's script ran to its end
    // Band bars: 10 per stream in each candidate's chart, plus the chart of both together.
    CHECK(count(dom, "class=\"bar set0\"") == 30);
    CHECK(count(dom, "class=\"bar set1\"") == 10);
    // Loudness over time: one momentary and one short-term line per candidate, one point per
    // 100 ms of the 5 s input.
    const auto momentary = pathPoints(dom, "line momentary");
    REQUIRE(momentary.size() == 2);
    for (std::size_t points : momentary) CHECK(points == 50);
    CHECK(pathPoints(dom, "line short-term").size() == 2);
    CHECK(pathPoints(dom, "line short-term all").size() == 2);
    // Gain reduction: the limiter's line (a value per 100 ms), and a note for the plain graph.
    const auto reduction = pathPoints(dom, "line gr");
    REQUIRE(reduction.size() == 1);
    CHECK(reduction[0] == 50);
    CHECK(dom.find("no node of this graph records it") != std::string::npos);
    CHECK(count(dom, "class=\"wave\"") == 2);
    CHECK(count(dom, "class=\"truepeak\"") == 4);
    // The diagrams: input, node(s), output of each graph, drawn by Graphviz.
    CHECK(count(dom, "class=\"node\"") == 3 + 4);
    CHECK(dom.find("<title>lim</title>") != std::string::npos);

    // The screenshot shows them: d3's first two category colours fill the bars, the waveform
    // its own blue.
    const std::string png = dir.file("shot.png");
    REQUIRE(test::runShell(chromium(dir, "--screenshot=" + q(png) + " --window-size=1200,2400", page)).status == 0);
    const Image image = decodePng(slurp(png));
    CHECK(image.width == 1200);
    CHECK(pixelsOf(image, 0x1f, 0x77, 0xb4) > 10000); // blue bars
    CHECK(pixelsOf(image, 0xff, 0x7f, 0x0e) > 2000);  // orange bars: the second candidate
    CHECK(pixelsOf(image, 0x4a, 0x7a, 0xb0) > 5000);  // waveform
}

TEST_CASE("render --html and analyze --html: pages with the output's plots and the graph's diagram", "[html][cli]") {
    TempDir dir;
    const std::string mix = writeMix(dir, 3);
    const std::string graph =
        dir.write("g.yaml", chainGraph("eq: {type: peak, freq: 2 kHz, gain: 3 dB, q: 1}, lim: {type: limiter, ceiling: -6 dBTP}",
                                       "eq -> lim"));
    const std::string page = dir.file("render.html");
    const auto run =
        test::runCli("render " + q(graph) + " -i " + q(mix) + " -o " + q(dir.file("out.wav")) + " --html " + q(page));
    INFO(run.err);
    REQUIRE(run.status == 0);
    const std::string dom = dumpDom(dir, page);
    CHECK(dom.find("data-rendered=\"yes\"") != std::string::npos);
    CHECK(count(dom, "class=\"bar set0\"") == 10);
    const auto momentary = pathPoints(dom, "line momentary");
    REQUIRE(momentary.size() == 1);
    CHECK(momentary[0] == 30);
    CHECK(pathPoints(dom, "line gr").size() == 1);
    CHECK(count(dom, "class=\"node\"") == 4);
    CHECK(dom.find("<title>eq</title>") != std::string::npos);

    const std::string analyzed = dir.file("analyze.html");
    const auto analysis = test::runCli("analyze " + q(mix) + " " + q(dir.file("out.wav")) + " --html " + q(analyzed));
    REQUIRE(analysis.status == 0);
    CHECK(analysis.out.find("integrated") != std::string::npos); // the table is still printed
    const std::string analyzeDom = dumpDom(dir, analyzed);
    CHECK(count(analyzeDom, "class=\"bar set0\"") == 20);
    CHECK(pathPoints(analyzeDom, "line momentary").size() == 2);
    CHECK(count(analyzeDom, "class=\"wave\"") == 2);
    CHECK(count(analyzeDom, "class=\"node\"") == 0); // a file has no graph
    CHECK(analyzeDom.find("it has no graph to draw") != std::string::npos);
}

TEST_CASE("html reports: a missing plotting library fails before any work; inputs are never overwritten", "[html][cli]") {
    TempDir dir;
    const std::string mix = writeMix(dir, 1);
    const std::string graph = dir.write("g.yaml", chainGraph("g: {type: gain, gain: 0 dB}", "g"));
    const std::string noD3 = "STAGEGRAPH_D3_JS=" + q(dir.file("nowhere/d3.min.js")) + " " + q(test::cliPath());
    const auto compare = test::runShell(noD3 + " compare " + q(graph) + " " + q(graph) + " -i " + q(mix) + " --html " +
                                        q(dir.file("r.html")) + " --ab " + q(dir.file("ab.wav")));
    CHECK(compare.status == 1);
    CHECK(compare.err.find("libjs-d3") != std::string::npos);
    const auto render = test::runShell(noD3 + " render " + q(graph) + " -i " + q(mix) + " -o " + q(dir.file("o.wav")) +
                                       " --html " + q(dir.file("r.html")));
    CHECK(render.status == 2);
    CHECK(render.err.find("libjs-d3") != std::string::npos);
    const auto analyze = test::runShell(noD3 + " analyze " + q(mix) + " --html " + q(dir.file("r.html")));
    CHECK(analyze.status == 1);
    const std::string before = slurp(mix);
    CHECK(test::runCli("render " + q(graph) + " -i " + q(mix) + " -o " + q(dir.file("o.wav")) + " --html " + q(mix)).status == 2);
    CHECK(test::runCli("analyze " + q(mix) + " --html " + q(mix)).status == 2);
    CHECK(test::runCli("compare " + q(graph) + " -i " + q(mix) + " --html " + q(mix)).status == 2);
    CHECK(slurp(mix) == before);
    for (const auto& name : dir.list()) {
        CHECK(name.find(".html") == std::string::npos);
        CHECK(name != "ab.wav");
        CHECK(name != "o.wav");
    }
}
