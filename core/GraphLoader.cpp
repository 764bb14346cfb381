// YAML graph loader (format version 1). See core/GraphLoader.h and the YAML section of the
// design notes for the format.
//
// Two phases:
//  1. Parse: each file (the top file and every included file, once) becomes a FileDoc: its
//     body (params, inputs, outputs, nodes, connections) and its templates, every scalar kept
//     as text with its mark. Structural errors (unknown keys, duplicates, bad names) are
//     reported here, once per file.
//  2. Expand: the top body is expanded; a `use:` node expands its template or file body with
//     a dotted prefix and a parameter scope. Each expanded body is summarised by its port
//     aliases (input port -> internal endpoints, internal sources -> output port, input ->
//     output pass-through); the enclosing body rewrites its connections through them, so the
//     result holds only real nodes and external inputs/outputs.
//
// Substitution: `$name` or `${name}` (quote the latter inside a flow map: `{gain: "${g}"}`)
// in type names, `use:` targets, parameter values, port channels, input files and connection
// strings is replaced by the parameter's text; `$$` is a literal `$`. A body sees only its own
// `params:` (a template does not see the file's). The scope of an instance is the values
// supplied at the use site (themselves substituted in the enclosing scope), else the declared
// defaults; the top file uses its own defaults. A value that is exactly `$name` takes the mark
// of the text that supplied it, so the compiler's errors point at the use site.
//
// Errors are collected, de-duplicated (a template expanded twice reports its problems once)
// and handed to the caller sorted by file, line and column.
#include "core/GraphLoader.h"

#include "core/Registry.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unistd.h>

namespace sg {
namespace {

namespace fs = std::filesystem;

constexpr int kFormatVersion = 1;
constexpr int kMaxChannels = 64;
constexpr int kMaxUseDepth = 64; // nesting of use: (templates and files); cycles are caught earlier

// ---- errors ------------------------------------------------------------------------------

/// Collects errors without duplicates; flushed into Diagnostics sorted by position.
class ErrorSink {
public:
    void error(const SourceMark& mark, std::string message) {
        auto key = std::make_tuple(mark.file, mark.line, mark.column, message);
        if (!seen_.insert(key).second) return;
        list_.push_back({Diagnostic::Severity::Error, mark, std::move(message)});
    }
    /// Files rank in the order they were first loaded (top file first).
    void rankFile(const std::string& file) { fileRank_.emplace(file, int(fileRank_.size())); }

    void flushInto(Diagnostics& diags) {
        auto rank = [&](const std::string& f) {
            auto it = fileRank_.find(f);
            return it == fileRank_.end() ? INT_MAX : it->second;
        };
        std::stable_sort(list_.begin(), list_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
            return std::make_tuple(rank(a.mark.file), a.mark.line, a.mark.column) <
                   std::make_tuple(rank(b.mark.file), b.mark.line, b.mark.column);
        });
        for (auto& d : list_) diags.error(d.mark, d.message);
        list_.clear();
    }

private:
    std::vector<Diagnostic> list_;
    std::set<std::tuple<std::string, int, int, std::string>> seen_;
    std::map<std::string, int> fileRank_;
};

std::string quote(const std::string& s) { return "'" + s + "'"; }

/// True if `a` is `b` with two adjacent characters swapped ("tpye" / "type").
bool isTransposition(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    std::size_t i = 0;
    while (i < a.size() && a[i] == b[i]) ++i;
    return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.compare(i + 2, std::string::npos, b, i + 2) == 0;
}

/// " (did you mean 'x'?)" for the closest candidate, else "". Near misses only: an adjacent
/// swap counts as one edit; words of 1-2 letters get no suggestion, 3-4 letters one edit,
/// longer words two.
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    int bestDistance = INT_MAX;
    for (const auto& c : candidates) {
        int d = isTransposition(word, c) ? 1 : editDistance(word, c);
        if (d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    }
    int limit = word.size() <= 2 ? 0 : word.size() <= 4 ? 1 : 2;
    if (best.empty() || bestDistance > limit) return "";
    return " (did you mean " + quote(best) + "?)";
}

std::string joinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

// ---- names -------------------------------------------------------------------------------

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isParamChar(char c) { return isNameStart(c) || isDigit(c); }
bool isNameChar(char c) { return isParamChar(c) || c == '-'; }

/// Node, port and template names: [A-Za-z_][A-Za-z0-9_-]*.
bool isName(const std::string& s) {
    if (s.empty() || !isNameStart(s[0])) return false;
    return std::all_of(s.begin(), s.end(), isNameChar);
}
/// Parameter names: [A-Za-z_][A-Za-z0-9_]* (so `$gain-2` reads as `$gain` then "-2").
bool isParamName(const std::string& s) {
    if (s.empty() || !isNameStart(s[0])) return false;
    return std::all_of(s.begin(), s.end(), isParamChar);
}

bool parseInt(const std::string& text, int& value) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end && !text.empty();
}

bool looksLikeFile(const std::string& target) {
    auto endsWith = [&](const char* suffix) {
        std::size_t n = std::strlen(suffix);
        return target.size() >= n && target.compare(target.size() - n, n, suffix) == 0;
    };
    return target.find('/') != std::string::npos || endsWith(".yaml") || endsWith(".yml");
}

// ---- parsed form of a file ---------------------------------------------------------------

/// A scalar as written. `quoted`: the mark points at the opening quote.
struct Scalar {
    std::string text;
    SourceMark mark;
    bool quoted = false;
};

struct PortDecl {
    Scalar name;
    Scalar channels; ///< text, checked after substitution (may be `$ch` in a template)
    bool hasChannels = false;
    Scalar file;
    bool hasFile = false;
};

struct ParamDecl {
    Scalar name;
    bool hasDefault = false;
    Scalar defaultValue;
};

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

struct Template {
    Scalar name;
    Body body;
};

struct FileDoc {
    std::string path;     ///< as shown in marks
    std::string baseDir;  ///< resolves use: and input files
    std::string identity; ///< canonical path, for include cycles
    bool usable = false;  ///< parsed to a map
    int version = 0;
    std::string name, stage, description;
    Body body;
    std::vector<Template> templates;

    const Template* findTemplate(const std::string& n) const {
        for (const auto& t : templates)
            if (t.name.text == n) return &t;
        return nullptr;
    }
};

// ---- phase 1: parse ----------------------------------------------------------------------

class FileParser {
public:
    FileParser(FileDoc& doc, ErrorSink& errors) : doc_(doc), errors_(errors) {}

    void parse(const std::string& text) {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::ParserException& e) {
            errors_.error(fromYaml(e.mark), "malformed YAML: " + e.msg);
            return;
        } catch (const YAML::Exception& e) {
            errors_.error(fromYaml(e.mark), "malformed YAML: " + e.msg);
            return;
        }
        SourceMark start{doc_.path, 1, 1};
        if (!root.IsDefined() || root.IsNull()) {
            errors_.error(start, "missing format version: add 'stagegraph: 1'");
            return;
        }
        if (!root.IsMap()) {
            errors_.error(mark(root), "a graph file is a YAML map (stagegraph, name, inputs, outputs, nodes, connections, ...)");
            return;
        }
        doc_.usable = true;
        static const std::vector<std::string> keys = {"stagegraph", "name",  "stage",       "description", "inputs",
                                                      "outputs",    "nodes", "connections", "templates",   "params"};
        bool sawVersion = false;
        forEachEntry(root, "key", [&](const Scalar& key, const YAML::Node& value) {
            const std::string& k = key.text;
            if (k == "stagegraph") {
                sawVersion = true;
                Scalar v;
                if (scalar(value, v, "stagegraph")) {
                    int version = 0;
                    if (!parseInt(v.text, version) || version != kFormatVersion)
                        errors_.error(v.mark,
                                      "unsupported format version " + quote(v.text) + ": this stagegraph reads 'stagegraph: 1'");
                    else
                        doc_.version = version;
                }
            } else if (k == "name") {
                Scalar v;
                if (scalar(value, v, "name")) doc_.name = v.text;
            } else if (k == "stage") {
                Scalar v;
                if (scalar(value, v, "stage")) {
                    static const std::vector<std::string> stages = {"mixing", "mastering", "translation", "utility", "teaching"};
                    if (std::find(stages.begin(), stages.end(), v.text) == stages.end())
                        errors_.error(v.mark, "unknown stage " + quote(v.text) + suggestion(v.text, stages) +
                                                  "; expected mixing, mastering, translation, utility or teaching");
                    else
                        doc_.stage = v.text;
                }
            } else if (k == "description") {
                Scalar v;
                if (scalar(value, v, "description")) doc_.description = v.text;
            } else if (k == "templates") {
                parseTemplates(value);
            } else if (!parseBodyKey(key, value, doc_.body)) {
                errors_.error(key.mark, "unknown key " + quote(k) + suggestion(k, keys));
            }
        });
        if (!sawVersion) errors_.error(start, "missing format version: add 'stagegraph: 1'");
        checkNameClashes(doc_.body);
    }

private:
    FileDoc& doc_;
    ErrorSink& errors_;

    SourceMark fromYaml(const YAML::Mark& m) const {
        if (m.line < 0) return {doc_.path, 0, 0};
        return {doc_.path, m.line + 1, m.column + 1};
    }
    SourceMark mark(const YAML::Node& n) const { return fromYaml(n.Mark()); }

    /// `n` as a scalar; reports "<what> must be a single value" otherwise.
    bool scalar(const YAML::Node& n, Scalar& out, const std::string& what, bool allowNull = false) {
        if (n.IsScalar()) {
            out = {n.Scalar(), mark(n), n.Tag() == "!"};
            return true;
        }
        if (n.IsNull()) {
            if (allowNull) return false;
            errors_.error(mark(n), what + ": missing value");
            return false;
        }
        errors_.error(mark(n), what + ": expected a single value, got a " + (n.IsMap() ? "map" : "list"));
        return false;
    }

    /// Calls f(key, value) for each entry of a map; reports non-name keys and duplicates
    /// ("duplicate <what> 'x' (first defined at line L)") and skips them.
    template <class F> void forEachEntry(const YAML::Node& map, const std::string& what, F f) {
        std::map<std::string, int> firstLine;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node k = it->first; // copies: `it->` is a proxy that dies with the expression
            const YAML::Node v = it->second;
            if (!k.IsScalar()) {
                errors_.error(mark(k), "expected a name as key");
                continue;
            }
            Scalar key{k.Scalar(), mark(k), k.Tag() == "!"};
            auto [pos, inserted] = firstLine.emplace(key.text, key.mark.line);
            if (!inserted) {
                errors_.error(key.mark, "duplicate " + what + " " + quote(key.text) + " (first defined at line " +
                                            std::to_string(pos->second) + ")");
                continue;
            }
            f(key, v);
        }
    }

    /// A section that must be a map (null = empty). Returns false (and reports) otherwise.
    bool isMapSection(const YAML::Node& value, const Scalar& key) {
        if (value.IsNull() || value.IsMap()) return true;
        errors_.error(mark(value), quote(key.text) + " must be a map of names");
        return false;
    }

    /// Keys shared by files and templates. Returns false if `key` is not one of them.
    bool parseBodyKey(const Scalar& key, const YAML::Node& value, Body& body) {
        const std::string& k = key.text;
        if (k == "inputs")
            parsePorts(key, value, body.inputs, true);
        else if (k == "outputs")
            parsePorts(key, value, body.outputs, false);
        else if (k == "params")
            parseParams(key, value, body.params);
        else if (k == "nodes")
            parseNodes(key, value, body.nodes);
        else if (k == "connections")
            parseConnections(key, value, body.connections);
        else
            return false;
        return true;
    }

    void parsePorts(const Scalar& key, const YAML::Node& value, std::vector<PortDecl>& ports, bool isInput) {
        if (!isMapSection(value, key)) return;
        const std::string kind = isInput ? "input" : "output";
        static const std::vector<std::string> inputKeys = {"channels", "file", "description"};
        static const std::vector<std::string> outputKeys = {"channels", "description"};
        forEachEntry(value, kind + " name", [&](const Scalar& name, const YAML::Node& spec) {
            if (!isName(name.text)) {
                errors_.error(name.mark, "invalid " + kind + " name " + quote(name.text) +
                                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
                return;
            }
            PortDecl port;
            port.name = name;
            if (!spec.IsMap()) {
                errors_.error(spec.IsNull() ? name.mark : mark(spec),
                              kind + " " + quote(name.text) + " must be a map like {channels: 2}");
                return;
            }
            forEachEntry(spec, "key", [&](const Scalar& k, const YAML::Node& v) {
                if (k.text == "channels") {
                    port.hasChannels = scalar(v, port.channels, kind + " " + quote(name.text) + ": channels");
                } else if (k.text == "file" && isInput) {
                    port.hasFile = scalar(v, port.file, kind + " " + quote(name.text) + ": file");
                } else if (k.text == "description") {
                    Scalar ignored;
                    scalar(v, ignored, kind + " " + quote(name.text) + ": description", true);
                } else {
                    errors_.error(k.mark, kind + " " + quote(name.text) + ": unknown key " + quote(k.text) +
                                              suggestion(k.text, isInput ? inputKeys : outputKeys));
                }
            });
            if (!port.hasChannels && !hasKey(spec, "channels"))
                errors_.error(name.mark, kind + " " + quote(name.text) + ": missing 'channels'");
            ports.push_back(std::move(port));
        });
    }

    static bool hasKey(const YAML::Node& map, const std::string& key) {
        for (auto it = map.begin(); it != map.end(); ++it)
            if (it->first.IsScalar() && it->first.Scalar() == key) return true;
        return false;
    }

    void parseParams(const Scalar& key, const YAML::Node& value, std::vector<ParamDecl>& params) {
        if (!isMapSection(value, key)) return;
        forEachEntry(value, "parameter", [&](const Scalar& name, const YAML::Node& v) {
            if (!isParamName(name.text)) {
                errors_.error(name.mark, "invalid parameter name " + quote(name.text) +
                                             ": use letters, digits and '_', starting with a letter or '_'");
                return;
            }
            ParamDecl p;
            p.name = name;
            if (v.IsNull()) {
                p.hasDefault = false;
            } else if (scalar(v, p.defaultValue, "parameter " + quote(name.text))) {
                p.hasDefault = true;
            } else {
                return;
            }
            params.push_back(std::move(p));
        });
    }

    void parseNodes(const Scalar& key, const YAML::Node& value, std::vector<NodeDecl>& nodes) {
        if (!isMapSection(value, key)) return;
        forEachEntry(value, "node name", [&](const Scalar& name, const YAML::Node& spec) {
            bool nameOk = true;
            if (name.text.find('.') != std::string::npos) {
                errors_.error(name.mark,
                              "node name " + quote(name.text) + " must not contain '.' (dots separate instance names)");
                nameOk = false;
            } else if (!isName(name.text)) {
                errors_.error(name.mark, "invalid node name " + quote(name.text) +
                                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
                nameOk = false;
            }
            const std::string what = "node " + quote(name.text);
            if (!spec.IsMap()) {
                errors_.error(spec.IsNull() ? name.mark : mark(spec),
                              what + " must be a map like {type: gain, gain: -3 dB} or {use: template}");
                return;
            }
            NodeDecl node;
            node.name = name;
            bool hasType = false, hasUse = false, broken = false;
            forEachEntry(spec, "key", [&](const Scalar& k, const YAML::Node& v) {
                if (k.text == "type" || k.text == "use") {
                    Scalar target;
                    if (!scalar(v, target, what + ": " + k.text)) {
                        broken = true;
                        return;
                    }
                    if (target.text.empty()) {
                        errors_.error(target.mark, what + ": empty " + quote(k.text));
                        broken = true;
                        return;
                    }
                    (k.text == "type" ? hasType : hasUse) = true;
                    if (!(hasType && hasUse)) {
                        node.target = target;
                        node.isUse = k.text == "use";
                    }
                    return;
                }
                Scalar param;
                if (!scalar(v, param, what + ": parameter " + quote(k.text))) return;
                node.params.push_back({k, param});
            });
            if (hasType && hasUse) {
                errors_.error(name.mark, what + " has both 'type' and 'use'; a node is one or the other");
                return;
            }
            if (!hasType && !hasUse) {
                if (broken) return;
                std::string hint;
                for (const auto& [k, v] : node.params) {
                    std::string s = suggestion(k.text, {"type", "use"});
                    if (!s.empty()) {
                        hint = s;
                        break;
                    }
                }
                errors_.error(name.mark, what + " needs 'type: <node type>' or 'use: <template or file>'" + hint);
                return;
            }
            if (broken || !nameOk) return;
            nodes.push_back(std::move(node));
        });
    }

    void parseConnections(const Scalar& key, const YAML::Node& value, std::vector<Scalar>& connections) {
        if (value.IsNull()) return;
        if (!value.IsSequence()) {
            errors_.error(mark(value), quote(key.text) + " must be a list of strings like '- a -> b -> c'");
            return;
        }
        for (const auto& item : value) {
            Scalar s;
            if (scalar(item, s, "connection")) connections.push_back(s);
        }
    }

    void parseTemplates(const YAML::Node& value) {
        if (value.IsNull()) return;
        if (!value.IsMap()) {
            errors_.error(mark(value), "'templates' must be a map of template names");
            return;
        }
        static const std::vector<std::string> keys = {"description", "params", "inputs", "outputs", "nodes", "connections"};
        forEachEntry(value, "template", [&](const Scalar& name, const YAML::Node& spec) {
            if (!isName(name.text)) {
                errors_.error(name.mark, "invalid template name " + quote(name.text) +
                                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
                return;
            }
            if (!spec.IsMap()) {
                errors_.error(spec.IsNull() ? name.mark : mark(spec),
                              "template " + quote(name.text) + " must be a map (params, inputs, outputs, nodes, connections)");
                return;
            }
            Template t;
            t.name = name;
            forEachEntry(spec, "key", [&](const Scalar& k, const YAML::Node& v) {
                if (k.text == "description") {
                    Scalar ignored;
                    scalar(v, ignored, "description", true);
                } else if (!parseBodyKey(k, v, t.body)) {
                    errors_.error(k.mark,
                                  "template " + quote(name.text) + ": unknown key " + quote(k.text) + suggestion(k.text, keys));
                }
            });
            checkNameClashes(t.body);
            doc_.templates.push_back(std::move(t));
        });
    }

    /// Node names must differ from input and output names (connections refer to all three).
    void checkNameClashes(Body& body) {
        auto clashes = [&](const NodeDecl& n) {
            for (const auto* ports : {&body.inputs, &body.outputs})
                for (const auto& p : *ports)
                    if (p.name.text == n.name.text) {
                        errors_.error(n.name.mark, "node " + quote(n.name.text) + " has the same name as " +
                                                       (ports == &body.inputs ? "input" : "output") + " " + quote(p.name.text) +
                                                       " (line " + std::to_string(p.name.mark.line) + ")");
                        return true;
                    }
            return false;
        };
        body.nodes.erase(std::remove_if(body.nodes.begin(), body.nodes.end(), clashes), body.nodes.end());
    }
};

// ---- substitution ------------------------------------------------------------------------

/// A parameter value in scope: final text and where it was written.
struct ScopeValue {
    bool defined = false; ///< false: required parameter with no value (top file only)
    Scalar value;
};

struct Scope {
    std::map<std::string, ScopeValue> values;
    std::string owner; ///< "template 'x'" / "graph 'f.yaml'" for messages
};

/// The result of substituting `$name` in a scalar.
struct Substituted {
    std::string text;
    std::vector<int> sourceIndex; ///< per char of text: index in the original text
    SourceMark mark;              ///< whole-value mark (the supplied value's if the scalar is just `$name`)
    bool quoted = false;
    bool ok = true;

    /// Mark of character `i` of text (exact for single-line scalars).
    SourceMark markAt(const Scalar& original, std::size_t i) const {
        SourceMark m = original.mark;
        if (m.line > 0) {
            int offset = i < sourceIndex.size() ? sourceIndex[i] : int(original.text.size());
            m.column += offset + (original.quoted ? 1 : 0);
        }
        return m;
    }
};

Substituted substitute(const Scalar& s, const Scope& scope, ErrorSink& errors) {
    Substituted out;
    out.mark = s.mark;
    out.quoted = s.quoted;
    const std::string& t = s.text;
    auto markOf = [&](std::size_t i) {
        SourceMark m = s.mark;
        if (m.line > 0) m.column += int(i) + (s.quoted ? 1 : 0);
        return m;
    };
    auto append = [&](const std::string& text, std::size_t from) {
        out.text += text;
        out.sourceIndex.insert(out.sourceIndex.end(), text.size(), int(from));
    };
    std::size_t i = 0;
    int substitutions = 0;
    const Scalar* whole = nullptr;
    while (i < t.size()) {
        if (t[i] != '$') {
            append(std::string(1, t[i]), i);
            ++i;
            continue;
        }
        if (i + 1 < t.size() && t[i + 1] == '$') { // `$$` is a literal `$`
            append("$", i);
            i += 2;
            continue;
        }
        std::size_t nameBegin = i + 1, nameEnd;
        std::size_t next;
        bool braced = i + 1 < t.size() && t[i + 1] == '{';
        if (braced) {
            nameBegin = i + 2;
            nameEnd = t.find('}', nameBegin);
            if (nameEnd == std::string::npos) {
                errors.error(markOf(i), "unterminated '${' in " + quote(t));
                out.ok = false;
                return out;
            }
            next = nameEnd + 1;
        } else {
            nameEnd = nameBegin;
            while (nameEnd < t.size() && isParamChar(t[nameEnd]) && (nameEnd > nameBegin || isNameStart(t[nameEnd]))) ++nameEnd;
            if (nameEnd == nameBegin) { // a lone `$`: literal
                append("$", i);
                ++i;
                continue;
            }
            next = nameEnd;
        }
        std::string name = t.substr(nameBegin, nameEnd - nameBegin);
        auto it = scope.values.find(name);
        if (it == scope.values.end()) {
            std::vector<std::string> names;
            for (const auto& [n, v] : scope.values) names.push_back(n);
            errors.error(markOf(i), "undefined parameter '$" + name + "'" + (scope.owner.empty() ? "" : " in " + scope.owner) +
                                        suggestion(name, names));
            out.ok = false;
        } else if (!it->second.defined) {
            errors.error(markOf(i), "parameter " + quote(name) + " has no default; it is set where " + scope.owner +
                                        " is included with 'use:'");
            out.ok = false;
        } else {
            append(it->second.value.text, i);
            ++substitutions;
            if (i == 0 && next == t.size()) whole = &it->second.value;
        }
        i = next;
    }
    if (whole && substitutions == 1) {
        out.mark = whole->mark;
        out.quoted = whole->quoted;
    }
    return out;
}

// ---- phase 2: expand ---------------------------------------------------------------------

enum class VertexKind { Real, BodyIn, BodyOut, ChildIn, ChildOut };

/// One end of a connection inside one body: a real node (or, at the top, an external
/// input/output), this body's own port, or a port of a child instance.
struct Vertex {
    VertexKind kind = VertexKind::Real;
    int child = -1;
    std::string node; ///< Real: full node name
    std::string port; ///< Real: port ("" = default); others: port name
    SourceMark mark;

    bool terminal() const { return kind == VertexKind::Real || kind == VertexKind::BodyIn || kind == VertexKind::BodyOut; }
    std::string key() const { return std::to_string(int(kind)) + ":" + std::to_string(child) + ":" + port; }
    EndpointDesc endpoint() const { return {node, port, mark}; }
};

struct Edge {
    Vertex from, to;
    int order = -1; ///< declaration index in this body; -1 for a child's summary edge
};

/// How an expanded instance looks from outside: its ports, and what they alias inside.
/// Edges run BodyIn -> Real, Real -> BodyOut or BodyIn -> BodyOut.
struct Summary {
    std::vector<std::string> inputs, outputs; ///< declared order; the first is the default
    std::vector<Edge> edges;
    std::string owner; ///< "template 'x'" / "graph 'f.yaml'"
};

struct Element {
    std::string name, port;
    bool hasPort = false;
    SourceMark mark;
};

class Expander {
public:
    Expander(GraphDesc& graph, ErrorSink& errors) : graph_(graph), errors_(errors) {}

    /// Parses a file's text into a cached FileDoc.
    FileDoc& addDoc(const std::string& identity, const std::string& path, const std::string& baseDir, const std::string& text) {
        auto doc = std::make_unique<FileDoc>();
        doc->path = path;
        doc->baseDir = baseDir;
        doc->identity = identity;
        errors_.rankFile(path);
        FileParser(*doc, errors_).parse(text);
        FileDoc& ref = *doc;
        docs_[identity] = std::move(doc);
        return ref;
    }

    void expandTop(const FileDoc& doc) {
        Scope scope;
        scope.owner = "graph " + quote(doc.path);
        for (const auto& p : doc.body.params) scope.values[p.name.text] = {p.hasDefault, p.defaultValue};
        stack_.push_back({doc.identity, doc.path});
        expandBody(doc, doc.body, "", scope, true);
        stack_.pop_back();
    }

private:
    GraphDesc& graph_;
    ErrorSink& errors_;
    std::map<std::string, std::unique_ptr<FileDoc>> docs_;
    struct StackEntry {
        std::string identity; ///< file identity, or file identity + "#" + template
        std::string label;
    };
    std::vector<StackEntry> stack_;

    struct BodyNames {
        std::map<std::string, std::string> real; ///< local name -> full name
        std::map<std::string, int> children;     ///< local name -> index in summaries
        std::set<std::string> broken;            ///< declared but failed: no further errors
        std::vector<Summary> summaries;
    };

    Summary expandBody(const FileDoc& doc, const Body& body, const std::string& prefix, const Scope& scope, bool top) {
        Summary summary;
        summary.owner = scope.owner;
        BodyNames names;

        // Ports.
        for (int side = 0; side < 2; ++side) {
            bool isInput = side == 0;
            for (const auto& port : isInput ? body.inputs : body.outputs) {
                (isInput ? summary.inputs : summary.outputs).push_back(port.name.text);
                ExternalDesc ext;
                ext.name = port.name.text;
                ext.mark = port.name.mark;
                if (port.hasChannels) {
                    Substituted c = substitute(port.channels, scope, errors_);
                    int channels = 0;
                    if (c.ok && (!parseInt(c.text, channels) || channels < 1 || channels > kMaxChannels))
                        errors_.error(c.mark, std::string(isInput ? "input " : "output ") + quote(ext.name) +
                                                  ": channels must be an integer from 1 to 64, got " + quote(c.text));
                    else
                        ext.channels = channels;
                }
                if (port.hasFile) {
                    Substituted f = substitute(port.file, scope, errors_);
                    if (f.ok && !f.text.empty()) {
                        fs::path p(f.text);
                        ext.file = p.is_absolute() ? f.text : (fs::path(doc.baseDir) / p).string();
                    }
                }
                if (top) (isInput ? graph_.inputs : graph_.outputs).push_back(std::move(ext));
            }
        }

        // Nodes, in order; instances expand in place.
        for (const auto& node : body.nodes) {
            const std::string fullName = prefix + node.name.text;
            if (!node.isUse) {
                NodeDesc desc;
                desc.name = fullName;
                desc.mark = node.name.mark;
                Substituted type = substitute(node.target, scope, errors_);
                desc.type = type.text;
                desc.typeMark = type.mark;
                if (type.ok && type.text.empty()) errors_.error(type.mark, "node " + quote(fullName) + ": empty 'type'");
                for (const auto& [key, value] : node.params) {
                    Substituted v = substitute(value, scope, errors_);
                    desc.params.push_back({key.text, key.mark, {v.text, v.mark}});
                }
                names.real[node.name.text] = fullName;
                graph_.nodes.push_back(std::move(desc));
                continue;
            }
            std::optional<Summary> child = expandUse(doc, node, prefix, scope);
            if (!child) {
                names.broken.insert(node.name.text);
                continue;
            }
            names.children[node.name.text] = int(names.summaries.size());
            names.summaries.push_back(std::move(*child));
        }

        // Edges: the children's port aliases, then this body's connections.
        std::vector<Edge> edges;
        for (std::size_t c = 0; c < names.summaries.size(); ++c) {
            for (const auto& e : names.summaries[c].edges) {
                Edge lifted = e;
                for (Vertex* v : {&lifted.from, &lifted.to}) {
                    if (v->kind == VertexKind::BodyIn) {
                        v->kind = VertexKind::ChildIn;
                        v->child = int(c);
                    } else if (v->kind == VertexKind::BodyOut) {
                        v->kind = VertexKind::ChildOut;
                        v->child = int(c);
                    }
                }
                lifted.order = -1;
                edges.push_back(std::move(lifted));
            }
        }
        int order = 0;
        for (const auto& line : body.connections) {
            std::vector<Element> elements;
            if (!parseConnection(line, scope, elements)) continue;
            for (std::size_t i = 0; i + 1 < elements.size(); ++i) {
                Element from = elements[i];
                if (i > 0) {
                    from.port.clear();
                    from.hasPort = false;
                } // a middle port is the input side
                std::optional<Vertex> a = resolve(from, true, body, names, prefix, top);
                std::optional<Vertex> b = resolve(elements[i + 1], false, body, names, prefix, top);
                if (a && b) edges.push_back({*a, *b, order});
                ++order;
            }
        }

        // Paths from terminal sources through instance ports to terminal destinations. A path
        // takes the place of the last declared connection it uses (a connection exists once
        // its last piece is declared); a child's own aliases come in the child's order.
        struct Path {
            Vertex from, to;
            int order;
        };
        std::vector<Path> paths;
        std::multimap<std::string, std::size_t> outgoing; // virtual vertex -> edges leaving it
        for (std::size_t i = 0; i < edges.size(); ++i)
            if (!edges[i].from.terminal()) outgoing.emplace(edges[i].from.key(), i);
        std::set<std::string> onPath;
        auto walk = [&](auto& self, const Vertex& source, const Edge& edge, int lastOrder) -> void {
            lastOrder = std::max(lastOrder, edge.order);
            if (edge.to.terminal()) {
                paths.push_back({source, edge.to, lastOrder});
                return;
            }
            std::string k = edge.to.key();
            if (!onPath.insert(k).second) return; // a loop made only of pass-through ports
            auto [begin, end] = outgoing.equal_range(k);
            for (auto it = begin; it != end; ++it) self(self, source, edges[it->second], lastOrder);
            onPath.erase(k);
        };
        for (const auto& e : edges)
            if (e.from.terminal()) walk(walk, e.from, e, -1);
        std::stable_sort(paths.begin(), paths.end(), [](const Path& a, const Path& b) { return a.order < b.order; });
        for (const auto& p : paths) {
            if (p.from.kind == VertexKind::Real && p.to.kind == VertexKind::Real)
                graph_.connections.push_back({p.from.endpoint(), p.to.endpoint()});
            else
                summary.edges.push_back({p.from, p.to, -1});
        }
        return summary;
    }

    /// Expands `{use: target, p: v}`; nullopt if it failed (errors reported).
    std::optional<Summary> expandUse(const FileDoc& doc, const NodeDecl& node, const std::string& prefix, const Scope& scope) {
        const std::string fullName = prefix + node.name.text;
        Substituted target = substitute(node.target, scope, errors_);
        if (!target.ok) return std::nullopt;
        const SourceMark& at = target.mark;

        const FileDoc* childDoc = nullptr;
        const Body* childBody = nullptr;
        std::string identity, label, owner;
        std::vector<std::string> templateNames;
        if (looksLikeFile(target.text)) {
            fs::path p(target.text);
            std::string joined = p.is_absolute() ? target.text : (fs::path(doc.baseDir) / p).string();
            std::error_code ec;
            fs::path canonical = fs::weakly_canonical(fs::absolute(joined, ec), ec);
            identity = ec ? joined : canonical.string();
            label = joined;
            owner = "graph " + quote(joined);
            if (onStack(identity, at, label)) return std::nullopt;
            auto it = docs_.find(identity);
            if (it == docs_.end()) {
                std::string text, reason;
                if (!readFile(joined, text, reason)) {
                    errors_.error(at, "cannot read included graph " + quote(joined) + ": " + reason);
                    return std::nullopt;
                }
                std::string base = fs::path(joined).parent_path().string();
                childDoc = &addDoc(identity, joined, base, text);
            } else {
                childDoc = it->second.get();
            }
            if (!childDoc->usable) return std::nullopt; // its errors are reported in its file
            childBody = &childDoc->body;
        } else {
            const Template* t = doc.findTemplate(target.text);
            if (!t) {
                for (const auto& tt : doc.templates) templateNames.push_back(tt.name.text);
                errors_.error(at, "node " + quote(fullName) + ": unknown template " + quote(target.text) +
                                      suggestion(target.text, templateNames) + " (a file path needs a '/' or a .yaml ending)");
                return std::nullopt;
            }
            identity = doc.identity + "#" + target.text;
            label = "template " + quote(target.text);
            owner = label;
            if (onStack(identity, at, label)) return std::nullopt;
            childDoc = &doc;
            childBody = &t->body;
        }
        if (int(stack_.size()) >= kMaxUseDepth) {
            errors_.error(at, "'use:' nested more than " + std::to_string(kMaxUseDepth) + " levels deep");
            return std::nullopt;
        }

        // The instance's parameter scope: supplied values (substituted here), else defaults.
        Scope childScope;
        childScope.owner = owner;
        bool ok = true;
        std::vector<std::string> declared;
        for (const auto& p : childBody->params) declared.push_back(p.name.text);
        for (const auto& [key, value] : node.params) {
            if (std::find(declared.begin(), declared.end(), key.text) == declared.end()) {
                errors_.error(key.mark, owner + " has no parameter " + quote(key.text) + suggestion(key.text, declared) +
                                            "; its parameters: " + joinNames(declared));
                ok = false;
                continue;
            }
            Substituted v = substitute(value, scope, errors_);
            if (!v.ok) {
                ok = false;
                continue;
            }
            childScope.values[key.text] = {true, {v.text, v.mark, v.quoted}};
        }
        for (const auto& p : childBody->params) {
            if (childScope.values.count(p.name.text)) continue;
            if (p.hasDefault) {
                childScope.values[p.name.text] = {true, p.defaultValue};
            } else {
                errors_.error(at, owner + " parameter " + quote(p.name.text) + " not supplied");
                ok = false;
            }
        }
        if (!ok) return std::nullopt;

        stack_.push_back({identity, label});
        Summary s = expandBody(*childDoc, *childBody, fullName + ".", childScope, false);
        stack_.pop_back();
        return s;
    }

    bool onStack(const std::string& identity, const SourceMark& at, const std::string& label) {
        auto it = std::find_if(stack_.begin(), stack_.end(), [&](const StackEntry& e) { return e.identity == identity; });
        if (it == stack_.end()) return false;
        std::string chain;
        for (; it != stack_.end(); ++it) chain += it->label + " -> ";
        errors_.error(at, "'use:' cycle: " + chain + label);
        return true;
    }

    /// Splits `a -> b.port -> c` into elements with their marks.
    bool parseConnection(const Scalar& line, const Scope& scope, std::vector<Element>& elements) {
        Substituted s = substitute(line, scope, errors_);
        if (!s.ok) return false;
        const std::string& t = s.text;
        bool ok = true;
        std::size_t begin = 0;
        while (true) {
            std::size_t arrow = t.find("->", begin);
            std::size_t end = arrow == std::string::npos ? t.size() : arrow;
            std::size_t a = begin, b = end;
            while (a < b && std::isspace(static_cast<unsigned char>(t[a]))) ++a;
            while (b > a && std::isspace(static_cast<unsigned char>(t[b - 1]))) --b;
            std::string piece = t.substr(a, b - a);
            if (piece.empty()) {
                errors_.error(s.markAt(line, std::min(end, t.size() ? t.size() - 1 : 0)),
                              "connection " + quote(t) + ": missing name (connections look like 'a -> b.port -> c')");
                ok = false;
            } else {
                Element e;
                e.mark = s.markAt(line, a);
                std::size_t dot = piece.find('.');
                e.name = piece.substr(0, dot);
                if (dot != std::string::npos) {
                    e.port = piece.substr(dot + 1);
                    e.hasPort = true;
                }
                if (!isName(e.name)) {
                    errors_.error(e.mark, "connection " + quote(t) + ": " + quote(piece) +
                                              " is not a name or name.port (connections look like 'a -> b.port -> c')");
                    ok = false;
                } else if (e.hasPort && e.port.empty()) {
                    errors_.error(e.mark, "connection " + quote(t) + ": missing port name after " + quote(e.name + "."));
                    ok = false;
                } else {
                    elements.push_back(std::move(e));
                }
            }
            if (arrow == std::string::npos) break;
            begin = arrow + 2;
        }
        if (ok && elements.size() < 2) {
            errors_.error(s.markAt(line, 0), "connection " + quote(t) + " needs at least two names: 'a -> b'");
            ok = false;
        }
        return ok;
    }

    /// The vertex an element names, as a source (`asSource`) or destination.
    std::optional<Vertex> resolve(const Element& e, bool asSource, const Body& body, const BodyNames& names,
                                  const std::string& prefix, bool top) {
        const std::string role = asSource ? "source" : "destination";
        auto isPort = [&](const std::vector<PortDecl>& ports) {
            return std::any_of(ports.begin(), ports.end(), [&](const PortDecl& p) { return p.name.text == e.name; });
        };
        bool isInput = isPort(body.inputs), isOutput = isPort(body.outputs);
        if ((asSource && isInput) || (!asSource && isOutput)) {
            const char* kind = isInput && asSource ? "input" : "output";
            if (e.hasPort) {
                errors_.error(e.mark, std::string(kind) + " " + quote(e.name) + " has no ports; write just " + quote(e.name));
                return std::nullopt;
            }
            Vertex v;
            v.kind = top ? VertexKind::Real : (asSource ? VertexKind::BodyIn : VertexKind::BodyOut);
            v.node = top ? e.name : "";
            v.port = top ? "" : e.name;
            v.mark = e.mark;
            return v;
        }
        if (isInput || isOutput) {
            errors_.error(e.mark, isInput ? "input " + quote(e.name) + " can only be a source (left of '->')"
                                          : "output " + quote(e.name) + " can only be a destination (right of '->')");
            return std::nullopt;
        }
        if (auto it = names.real.find(e.name); it != names.real.end()) {
            if (e.hasPort && !isName(e.port)) {
                errors_.error(e.mark, "node " + quote(it->second) + ": invalid port name " + quote(e.port));
                return std::nullopt;
            }
            Vertex v;
            v.kind = VertexKind::Real;
            v.node = it->second;
            v.port = e.port;
            v.mark = e.mark;
            return v;
        }
        if (auto it = names.children.find(e.name); it != names.children.end()) {
            const Summary& child = names.summaries[std::size_t(it->second)];
            const auto& ports = asSource ? child.outputs : child.inputs;
            const std::string side = asSource ? "output" : "input";
            if (e.hasPort && e.port.find('.') != std::string::npos) {
                errors_.error(e.mark, "cannot connect inside instance " + quote(prefix + e.name) + " of " + child.owner +
                                          ": use its " + side + " ports (" + joinNames(ports) + ")");
                return std::nullopt;
            }
            std::string port = e.port;
            if (!e.hasPort) {
                if (ports.empty()) {
                    errors_.error(e.mark, quote(prefix + e.name) + " (" + child.owner + ") has no " + side +
                                              "s, so it cannot be a " + role);
                    return std::nullopt;
                }
                port = ports.front();
            } else if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
                errors_.error(e.mark, quote(prefix + e.name) + " (" + child.owner + ") has no " + side + " port " + quote(port) +
                                          suggestion(port, ports) + "; its " + side + "s: " + joinNames(ports));
                return std::nullopt;
            }
            Vertex v;
            v.kind = asSource ? VertexKind::ChildOut : VertexKind::ChildIn;
            v.child = it->second;
            v.port = port;
            v.mark = e.mark;
            return v;
        }
        if (names.broken.count(e.name)) return std::nullopt; // already reported
        std::vector<std::string> known;
        for (const auto& [n, full] : names.real) known.push_back(n);
        for (const auto& [n, c] : names.children) known.push_back(n);
        for (const auto& p : asSource ? body.inputs : body.outputs) known.push_back(p.name.text);
        errors_.error(e.mark, "unknown name " + quote(e.name) + " in connection" + suggestion(e.name, known));
        return std::nullopt;
    }

public:
    /// Reads a whole file; on failure `reason` is the OS error text.
    static bool readFile(const std::string& path, std::string& text, std::string& reason) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            reason = std::strerror(errno);
            return false;
        }
        text.clear();
        char buffer[65536];
        while (true) {
            ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n < 0) {
                if (errno == EINTR) continue;
                reason = std::strerror(errno);
                ::close(fd);
                return false;
            }
            if (n == 0) break;
            text.append(buffer, std::size_t(n));
        }
        ::close(fd);
        return true;
    }
};

GraphDesc load(const std::string& text, const std::string& displayName, const std::string& baseDir, const std::string& identity,
               Diagnostics& diags) {
    GraphDesc graph;
    graph.file = displayName;
    ErrorSink errors;
    Expander expander(graph, errors);
    FileDoc& doc = expander.addDoc(identity, displayName, baseDir, text);
    graph.version = doc.version;
    graph.name = doc.name;
    graph.stage = doc.stage;
    graph.description = doc.description;
    if (doc.usable) expander.expandTop(doc);
    errors.flushInto(diags);
    return graph;
}

} // namespace

GraphDesc loadGraph(const std::string& path, Diagnostics& diags) {
    std::string text, reason;
    if (!Expander::readFile(path, text, reason)) {
        GraphDesc graph;
        graph.file = path;
        diags.error({path, 0, 0}, "cannot read graph file " + quote(path) + ": " + reason);
        return graph;
    }
    std::error_code ec;
    fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
    return load(text, path, fs::path(path).parent_path().string(), ec ? path : canonical.string(), diags);
}

GraphDesc loadGraphFromString(const std::string& text, const std::string& displayName, const std::string& baseDir,
                              Diagnostics& diags) {
    return load(text, displayName, baseDir, "<string>:" + displayName, diags);
}

} // namespace sg
