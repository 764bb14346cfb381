// Where `use:` may read included graphs from (docs/safety.md "Includes"): the top-level graph's
// folder tree, the shipped graphs and the folders named with --include-dir (LoadOptions).
// Anything else is refused before it is read, and a file that is not a graph is never quoted.
#include <catch2/catch.hpp>

#include "core/GraphLoader.h"
#include "support/TestSupport.h"
#include "tests/core/LoaderTesting.h"

#include <filesystem>
#include <unistd.h>

using namespace sg;
using namespace sg::test;

namespace {

const char* kSecret = "password: hunter2\nroot: x\n";

const char* kGain = "stagegraph: 1\ninputs: {i: {channels: 1}}\noutputs: {o: {channels: 1}}\n"
                    "nodes: {g: {type: gain}}\nconnections: [i -> g -> o]\n";

std::string allText(const Diagnostics& diags) {
    std::string out;
    for (const auto& line : lines(diags)) out += line + "\n";
    return out;
}

std::string outside(const std::string& path) {
    return "error: included graph '" + path +
           "' is outside the folders graphs are included from (the top-level graph's folder, the shipped graphs, and "
           "--include-dir folders)";
}

} // namespace

TEST_CASE("includes: a file outside the graph's folder is refused and never quoted", "[includes]") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("graphs"));
    dir.write("secret.yaml", kSecret);
    const std::string top = "stagegraph: 1\nnodes:\n  a: {use: ../secret.yaml}\n  b: {use: /etc/passwd}\n";
    const std::string path = dir.write("graphs/top.yaml", top);
    Diagnostics diags;
    loadGraph(path, diags);
    CHECK(lines(diags) == Lines{path + ":" + pos(top, "../secret") + ": " + outside(dir.path() + "/graphs/../secret.yaml"),
                                path + ":" + pos(top, "/etc/passwd") + ": " + outside("/etc/passwd")});
    CHECK_THAT(allText(diags), !Catch::Contains("hunter2") && !Catch::Contains("password"));
}

TEST_CASE("includes: a symbolic link out of the folder is refused", "[includes]") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("graphs"));
    std::filesystem::create_directories(dir.file("elsewhere"));
    dir.write("elsewhere/strip.yaml", kGain);
    std::filesystem::create_directory_symlink(dir.file("elsewhere"), dir.file("graphs/link"));
    const std::string top = "stagegraph: 1\nnodes:\n  a: {use: link/strip.yaml}\n";
    const std::string path = dir.write("graphs/top.yaml", top);
    Diagnostics diags;
    loadGraph(path, diags);
    CHECK(lines(diags) == Lines{path + ":" + pos(top, "link/") + ": " + outside(dir.path() + "/graphs/link/strip.yaml")});

    SECTION("unless its folder is named (--include-dir)") {
        LoadOptions options;
        options.includeDirs = {dir.file("elsewhere")};
        Diagnostics allowed;
        GraphDesc g = loadGraph(path, allowed, options);
        CHECK(lines(allowed) == Lines{});
        CHECK(nodeNames(g) == std::vector<std::string>{"a.g"});
    }
}

TEST_CASE("includes: subfolders, '..' that stays inside, and the shipped graphs are allowed", "[includes]") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("graphs/strips"));
    dir.write("graphs/parts.yaml", kGain);
    dir.write("graphs/strips/strip.yaml", "stagegraph: 1\ninputs: {i: {channels: 1}}\noutputs: {o: {channels: 1}}\n"
                                          "nodes: {p: {use: ../parts.yaml}}\nconnections: [i -> p -> o]\n");
    const std::string shipped = std::string(STAGEGRAPH_SOURCE_DIR) + "/graphs/mixing/parts/vocal-strip.yaml";
    const std::string top = "stagegraph: 1\nnodes:\n  s: {use: strips/strip.yaml}\n  v: {use: " + shipped + "}\n";
    const std::string path = dir.write("graphs/top.yaml", top);
    Diagnostics diags;
    GraphDesc g = loadGraph(path, diags);
    CHECK(lines(diags) == Lines{});
    CHECK(g.nodes.size() > 1);
    CHECK(nodeNames(g).front() == "s.p.g");
}

TEST_CASE("includes: an included file that is not a graph gives one error and no content", "[includes]") {
    test::TempDir dir;
    dir.write("notes.yaml", kSecret);
    dir.write("list.yaml", "- root\n- hunter2\n");
    const std::string top = "stagegraph: 1\nnodes:\n  a: {use: notes.yaml}\n  b: {use: list.yaml}\n";
    const std::string path = dir.write("top.yaml", top);
    Diagnostics diags;
    loadGraph(path, diags);
    CHECK(lines(diags) == Lines{path + ":" + pos(top, "notes.yaml") + ": error: included file '" + dir.path() +
                                    "/notes.yaml' is not a stagegraph graph (no 'stagegraph: 1' at its top)",
                                path + ":" + pos(top, "list.yaml") + ": error: included file '" + dir.path() +
                                    "/list.yaml' is not a stagegraph graph (no 'stagegraph: 1' at its top)"});
    CHECK_THAT(allText(diags), !Catch::Contains("hunter2") && !Catch::Contains("password"));
}

TEST_CASE("includes: check --include-dir allows a folder from the command line", "[includes][cli]") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.file("graphs"));
    std::filesystem::create_directories(dir.file("shared"));
    dir.write("shared/strip.yaml", kGain);
    const std::string path = dir.write("graphs/top.yaml", "stagegraph: 1\ninputs: {mix: {channels: 1}}\n"
                                                          "outputs: {out: {channels: 1}}\n"
                                                          "nodes: {s: {use: ../shared/strip.yaml}}\n"
                                                          "connections: [mix -> s -> out]\n");
    CommandResult refused = runCli("check '" + path + "'");
    CHECK(refused.status == 2);
    CHECK_THAT(refused.err, Catch::Contains("is outside the folders graphs are included from"));
    CommandResult allowed = runCli("check '" + path + "' --include-dir '" + dir.file("shared") + "'");
    CHECK(allowed.status == 0);
    CHECK(allowed.err == "");
}
