// docs/safety.md "Terminal output": text that comes from a graph or a path reaches the terminal
// with its control characters escaped. The truth is the bytes printed: no ESC (0x1B), BEL (0x07)
// or other C0/C1 control may appear but the line ends the program writes itself.
#include "SafetyTesting.h"
#include "host/io/TerminalText.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cstdlib>

using sg::test::CommandResult;
using sg::test::TempDir;

using namespace sg::test::safety;

namespace {

/// The first control byte other than '\n' in `text`, or -1.
int firstControl(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto b = static_cast<unsigned char>(text[i]);
        if ((b < 0x20 && b != '\n') || b == 0x7F) return b;
        if (b == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(text[i + 1]) <= 0x9F)
            return static_cast<unsigned char>(text[i + 1]); // a C1 control, U+0080..U+009F
    }
    return -1;
}

// Sets the terminal's title, clears the screen, and uses a C1 CSI (U+009B).
const char* kHostileGraph = R"(stagegraph: 1
name: "evil\e]0;pwned\athe end"
description: "clears\e[2J the screen \u009B31m and rings\a"
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: -6 dB}}
connections: ["mix -> g -> out"]
)";

} // namespace

TEST_CASE("safety: terminalText escapes controls and keeps printable UTF-8", "[safety][terminal]") {
    using sg::io::terminalText;
    CHECK(terminalText("plain") == "plain");
    CHECK(terminalText("caf\xC3\xA9 \xE2\x99\xAA") == "caf\xC3\xA9 \xE2\x99\xAA"); // é ♪
    CHECK(terminalText("a\x1B]0;t\x07z") == "a\\e]0;t\\x07z");
    CHECK(terminalText("tab\tnew\nret\r") == "tab\\tnew\\nret\\r");
    CHECK(terminalText("\x7F") == "\\x7F");
    CHECK(terminalText("\xC2\x9B"
                       "31m") == "\\xC2\\x9B31m");   // C1 CSI
    CHECK(terminalText("\xFF\xC3") == "\\xFF\\xC3"); // not UTF-8
    CHECK(sg::io::terminalLines("one\ntwo\x1B") == "one\ntwo\\e");
    CHECK(sg::io::dotText("say \"hi\"\x1B") == "say \\\"hi\\\"\\\\e");
}

TEST_CASE("safety: check, dot and render print a hostile graph's text escaped", "[safety][terminal]") {
    TempDir dir;
    const std::string graph = dir.write("evil.yaml", kHostileGraph);
    SECTION("check") {
        const auto r = run("check '" + graph + "'");
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(firstControl(r.out) == -1);
        CHECK(r.out.find("evil\\e]0;pwned\\x07the end") != std::string::npos); // visible, not obeyed
    }
    SECTION("dot") {
        const auto r = run("dot '" + graph + "'");
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(firstControl(r.out) == -1);
        CHECK(r.out.rfind("digraph \"evil\\\\e]0;pwned\\\\x07the end\"", 0) == 0);
    }
    SECTION("a path with an escape sequence in it, in the render summary and in an error") {
        const std::string odd = dir.file("title\x1B]0;x\x07.wav");
        const auto missing = run("render '" + graph + "' -i '" + odd + "' -o '" + dir.file("out.wav") + "'");
        CHECK(missing.status != 0);
        CHECK(firstControl(missing.err) == -1);
        CHECK(missing.err.find("title\\e]0;x\\x07.wav") != std::string::npos);
        const auto made = run("render '" + dir.write("gen.yaml", R"(stagegraph: 1
name: "gen\e[31m"
outputs: {out: {channels: 1}}
nodes: {tone: {type: sine}}
connections: ["tone -> out"]
)") + "' -o '" + odd + "' --duration 0.1");
        INFO(made.err);
        REQUIRE(made.status == 0);
        CHECK(firstControl(made.out) == -1);
        CHECK(firstControl(made.err) == -1);
    }
}

TEST_CASE("safety: graph errors quoting hostile text are escaped", "[safety][terminal]") {
    TempDir dir;
    const std::string graph = dir.write("bad.yaml", "stagegraph: 1\noutputs: {out: {channels: 1}}\n"
                                                    "nodes: {tone: {type: \"sin\\e]0;owned\\a\"}}\n"
                                                    "connections: [\"tone -> out\"]\n");
    for (const char* command : {"check", "dot", "render"}) {
        DYNAMIC_SECTION(command) {
            const std::string extra = std::string(command) == "render" ? " -o '" + dir.file("o.wav") + "' --duration 1" : "";
            const auto r = run(std::string(command) + " '" + graph + "'" + extra);
            CHECK(r.status == 2);
            CHECK(firstControl(r.err) == -1);
        }
    }
}
