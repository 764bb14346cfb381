// YAML graph loader (format version 1). See core/GraphLoader.h and the YAML section of the
// design notes for the format.
//
// Three phases, one file each under core/loader/ (their shared model: LoaderModel.h):
//  1. Parse (Parse.cpp): each file (the top file and every included file, once) becomes a
//     FileDoc, every scalar kept as text with its mark; structural errors are reported here,
//     once per file. Only this phase sees yaml-cpp.
//  2. Substitute (Substitute.cpp): `$name` is replaced by the text of a parameter in scope.
//  3. Expand (Expand.cpp): templates and included files are expanded into dotted names and
//     connections are rewritten through instance ports, so the result holds only real nodes
//     and external inputs/outputs; substitution runs as each body is expanded.
//
// Errors are collected, de-duplicated (a template expanded twice reports its problems once)
// and handed to the caller sorted by file, line and column.
#include "core/GraphLoader.h"

#include "core/loader/LoaderModel.h"

#include <filesystem>
#include <vector>

namespace sg {
namespace {

namespace fs = std::filesystem;

GraphDesc load(const std::string& text, const std::string& displayName, const std::string& baseDir, const std::string& identity,
               Diagnostics& diags, const LoadOptions& options) {
    GraphDesc graph;
    graph.file = displayName;
    loader::ErrorSink errors;
    loader::Documents docs(errors, options.limits);
    const loader::FileDoc& doc = docs.add(identity, displayName, baseDir, text, false);
    graph.version = doc.version;
    graph.name = doc.name;
    graph.stage = doc.stage;
    graph.description = doc.description;
    // A file that did not parse into a graph map has nothing to compile; one that did is compiled
    // even with other errors (a missing or wrong `stagegraph:` version among them), so one run
    // reports everything the file gets wrong.
    graph.complete = doc.usable && loader::expandGraph(doc, docs, graph, errors, options);
    errors.flushInto(diags);
    return graph;
}

} // namespace

GraphDesc loadGraph(const std::string& path, Diagnostics& diags, const LoadOptions& options) {
    std::string text, reason;
    switch (loader::readGraphFile(path, options, text, reason)) {
    case loader::ReadStatus::Ok:
        break;
    case loader::ReadStatus::Failed: {
        GraphDesc graph;
        graph.file = path;
        graph.complete = false;
        diags.error({path, 0, 0}, "cannot read graph file " + loader::quote(path) + ": " + reason);
        return graph;
    }
    case loader::ReadStatus::TooBig: {
        GraphDesc graph;
        graph.file = path;
        graph.complete = false;
        diags.error({path, 1, 1}, loader::fileTooBigMessage(path, options.limits));
        return graph;
    }
    }
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
    GraphDesc graph = load(text, path, fs::path(path).parent_path().string(), ec ? path : canonical.string(), diags, options);
    graph.files.insert(graph.files.begin(), GraphFileText{path, std::move(text)});
    return graph;
}

GraphDesc loadGraphFromString(const std::string& text, const std::string& displayName, const std::string& baseDir,
                              Diagnostics& diags, const LoadOptions& options) {
    if (text.size() > options.limits.maxFileBytes) {
        GraphDesc graph;
        graph.file = displayName;
        graph.complete = false;
        diags.error({displayName, 1, 1}, loader::fileTooBigMessage(displayName, options.limits));
        return graph;
    }
    return load(text, displayName, baseDir, "<string>:" + displayName, diags, options);
}

// Where the shipped graphs are depends on how the engine is run (docs/install.md), so the
// candidates are tried in this order and the first folder that exists wins:
//  1. beside the running program in an install tree, <exe folder>/STAGEGRAPH_GRAPHS_FROM_BIN
//     (../share/stagegraph/graphs): the installed command, wherever its prefix was moved to
//     (a `cmake --install --prefix`, a `dpkg -x` tree);
//  2. the source tree the engine was built from, STAGEGRAPH_GRAPHS_DIR: the build tree;
//  3. the configured install prefix, STAGEGRAPH_INSTALLED_GRAPHS_DIR: a program of one's own
//     linked with an installed engine;
//  4. where the Debian package installs them, STAGEGRAPH_PACKAGED_GRAPHS_DIR (/usr/share/…): a
//     program of one's own linked with libstagegraph-dev.
std::string shippedGraphsDir() {
    static const std::string folder = [] {
        std::vector<fs::path> candidates;
        std::error_code ec;
#ifdef STAGEGRAPH_GRAPHS_FROM_BIN
        const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
        if (!ec) candidates.push_back((exe.parent_path() / STAGEGRAPH_GRAPHS_FROM_BIN).lexically_normal());
#endif
#ifdef STAGEGRAPH_GRAPHS_DIR
        candidates.emplace_back(STAGEGRAPH_GRAPHS_DIR);
#endif
#ifdef STAGEGRAPH_INSTALLED_GRAPHS_DIR
        candidates.emplace_back(STAGEGRAPH_INSTALLED_GRAPHS_DIR);
#endif
#ifdef STAGEGRAPH_PACKAGED_GRAPHS_DIR
        candidates.emplace_back(STAGEGRAPH_PACKAGED_GRAPHS_DIR);
#endif
        for (const auto& candidate : candidates)
            if (fs::is_directory(candidate, ec)) return candidate.string();
        return std::string();
    }();
    return folder;
}

} // namespace sg
