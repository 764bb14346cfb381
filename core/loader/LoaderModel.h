// The YAML loader's internal model, shared by its three phases (see core/GraphLoader.cpp):
// the parsed form of a file (every scalar kept as text with its mark), the error sink, the
// name rules, and the entry point of each phase. Included only by core/GraphLoader.cpp and
// core/loader/*.cpp; yaml-cpp stays inside core/loader/Parse.cpp.
#pragma once

#include "core/Diagnostics.h"
#include "core/GraphDesc.h"
#include "core/GraphLimits.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace sg::loader {

inline constexpr int kFormatVersion = 1;
inline constexpr int kMaxChannels = 64;

// ---- errors ------------------------------------------------------------------------------

/// Collects errors without duplicates; flushed into Diagnostics sorted by position.
class ErrorSink {
public:
    /// Records `message` at `mark` unless the same message was recorded there already.
    void error(const SourceMark& mark, std::string message);
    /// Files rank in the order they were first loaded (top file first).
    void rankFile(const std::string& file) { fileRank_.emplace(file, int(fileRank_.size())); }
    /// Moves the errors into `diags`, sorted by file rank, line and column.
    void flushInto(Diagnostics& diags);

private:
    std::vector<Diagnostic> list_;
    std::set<std::tuple<std::string, int, int, std::string>> seen_;
    std::map<std::string, int> fileRank_;
};

/// `s` in single quotes, for messages.
std::string quote(const std::string& s);
/// " (did you mean 'x'?)" for the closest candidate, else "".
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates);
/// "a, b, c", or "none".
std::string joinNames(const std::vector<std::string>& names);

// ---- names -------------------------------------------------------------------------------

inline bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
inline bool isDigit(char c) { return c >= '0' && c <= '9'; }
inline bool isParamChar(char c) { return isNameStart(c) || isDigit(c); }
inline bool isNameChar(char c) { return isParamChar(c) || c == '-'; }

/// Node, port and template names: [A-Za-z_][A-Za-z0-9_-]*.
bool isName(const std::string& s);
/// Parameter names: [A-Za-z_][A-Za-z0-9_]* (so `$gain-2` reads as `$gain` then "-2").
bool isParamName(const std::string& s);
/// The whole of `text` as a decimal integer.
bool parseInt(const std::string& text, int& value);
/// A `use:` target naming a file (a '/' or a .yaml/.yml ending) rather than a template.
bool looksLikeFile(const std::string& target);

// ---- parsed form of a file ---------------------------------------------------------------

/// A scalar as written. `quoted`: the mark points at the opening quote.
struct Scalar {
    std::string text;
    SourceMark mark;
    bool quoted = false;
};

/// An entry of `inputs:` or `outputs:`.
struct PortDecl {
    Scalar name;
    Scalar channels; ///< text, checked after substitution (may be `$ch` in a template)
    bool hasChannels = false;
    Scalar file;
    bool hasFile = false;
};

/// An entry of `params:`; no default means the use site must supply it.
struct ParamDecl {
    Scalar name;
    bool hasDefault = false;
    Scalar defaultValue;
};

/// An entry of `nodes:`: `{type: ...}` or `{use: ...}` with its settings.
struct NodeDecl {
    Scalar name;
    bool isUse = false;
    Scalar target;                                 ///< type name or use target
    std::vector<std::pair<Scalar, Scalar>> params; ///< key, value
};

/// What a graph file and a template have in common.
struct Body {
    std::vector<ParamDecl> params;
    std::vector<PortDecl> inputs;
    std::vector<PortDecl> outputs;
    std::vector<NodeDecl> nodes;
    std::vector<Scalar> connections;
};

/// An entry of `templates:`.
struct Template {
    Scalar name;
    Body body;
};

/// One parsed file: the top file or an included one.
struct FileDoc {
    std::string path;      ///< as shown in marks
    std::string baseDir;   ///< resolves use: and input files
    std::string identity;  ///< canonical path, for include cycles
    bool usable = false;   ///< parsed to a map
    bool included = false; ///< read through `use:` (not the top-level file)
    bool notGraph = false; ///< included, but not a graph (no `stagegraph:` key): nothing of it is quoted
    int version = 0;
    std::string name, stage, description;
    Body body;
    std::vector<Template> templates;

    /// The template named `n`, or nullptr.
    const Template* findTemplate(const std::string& n) const {
        for (const auto& t : templates)
            if (t.name.text == n) return &t;
        return nullptr;
    }
};

// ---- phases ------------------------------------------------------------------------------

/// Phase 1 (core/loader/Parse.cpp): parses `text` into `doc` (whose path, baseDir, identity
/// and `included` are set) within `limits` (YAML values, nesting; one YAML document, no NUL
/// byte); structural errors go to `errors`.
void parseFile(FileDoc& doc, const std::string& text, ErrorSink& errors, const GraphLimits& limits);

enum class ReadStatus { Ok, Failed, TooBig };
/// Reads a whole regular file of at most `maxBytes` (never a device, FIFO or folder: those fail
/// with `reason` "not a regular file"); on failure `reason` is the OS error text.
ReadStatus readFile(const std::string& path, std::size_t maxBytes, std::string& text, std::string& reason);
/// readFile(), or the text `options.fileTexts` gives for `path`.
ReadStatus readGraphFile(const std::string& path, const LoadOptions& options, std::string& text, std::string& reason);
/// "graph file 'x' is larger than N bytes (limit 'graph-file-size')".
std::string fileTooBigMessage(const std::string& path, const GraphLimits& limits);
/// "...: more than N (limit 'name')", the common ending of a limit's error.
std::string limitMessage(const std::string& what, std::size_t limit, const char* name);

/// Every file loaded for one graph, parsed once each, kept by identity.
class Documents {
public:
    Documents(ErrorSink& errors, const GraphLimits& limits) : errors_(errors), limits_(limits) {}
    /// Parses `text` as the file shown as `path` and keeps it under `identity`.
    FileDoc& add(const std::string& identity, const std::string& path, const std::string& baseDir, const std::string& text,
                 bool included);
    /// The file kept under `identity`, or nullptr.
    const FileDoc* find(const std::string& identity) const;

private:
    ErrorSink& errors_;
    GraphLimits limits_;
    std::map<std::string, std::unique_ptr<FileDoc>> docs_;
};

/// Phase 3 (core/loader/Expand.cpp): expands the body of `top` into `graph` (inputs,
/// outputs, nodes, connections, open instance inputs), loading included files into `docs`.
/// Substitution (phase 2, core/loader/Substitute.h) happens as each body is expanded.
/// Limits (nesting, nodes, connections) and where `use:` may read files from come from `options`.
/// Returns false if a limit stopped the expansion.
bool expandGraph(const FileDoc& top, Documents& docs, GraphDesc& graph, ErrorSink& errors, const LoadOptions& options);

} // namespace sg::loader
