#include "host/cli/BatchManifest.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

constexpr std::uintmax_t kMaxManifestBytes = 64u << 20; ///< a catalogue of a million rows fits
constexpr int kMaxYamlDepth = 8;                        ///< a row list, a row, a list of inputs: 3 are used

/// One item of a cell ("a.wav" of "a.wav;b.wav") with the cell's position.
struct Item {
    std::string text;
    SourceMark mark;
};

/// A cell: the text as written, and its items (split on ';' for CSV and YAML scalars).
struct Cell {
    std::string text;
    SourceMark mark;
    std::vector<Item> items;
};

/// A row before its cells are checked: column -> cell.
struct RawRow {
    SourceMark mark; ///< the row's first cell (CSV) or its map (YAML)
    std::map<std::string, Cell> cells;
};

bool isKnownColumn(const std::string& name) {
    const auto& columns = batchColumns();
    return std::find(columns.begin(), columns.end(), name) != columns.end();
}

std::string knownColumnsText() {
    std::string out;
    for (const auto& c : batchColumns()) out += (out.empty() ? "" : ", ") + c;
    return out;
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

/// "a.wav; b.wav;" -> items "a.wav", "b.wav" (blank items dropped).
std::vector<Item> splitItems(const std::string& text, const SourceMark& mark) {
    std::vector<Item> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = std::min(text.find(';', start), text.size());
        std::string item = trimmed(text.substr(start, end - start));
        if (!item.empty()) items.push_back({std::move(item), mark});
        start = end + 1;
    }
    return items;
}

/// The position of byte `offset` of `text`: 1-based line and column (in bytes).
SourceMark markAt(const std::string& file, const std::string& text, std::size_t offset) {
    SourceMark mark{file, 1, 1};
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++mark.line;
            mark.column = 1;
        } else {
            ++mark.column;
        }
    }
    return mark;
}

/// Length of the UTF-8 sequence at `i`, or 0 if it is not valid UTF-8.
std::size_t utf8Length(const std::string& text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) return 1;
    std::size_t length = 0;
    unsigned min = 0;
    unsigned code = 0;
    if ((c & 0xE0) == 0xC0) {
        length = 2, min = 0x80, code = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
        length = 3, min = 0x800, code = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
        length = 4, min = 0x10000, code = c & 0x07u;
    } else {
        return 0;
    }
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        code = (code << 6) | (byte(i + k) & 0x3Fu);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    return length;
}

/// Reads the manifest as text: a regular file within kMaxManifestBytes, UTF-8 without NUL bytes
/// (binary data is refused at its first bad byte, never parsed).
bool readManifestText(const std::string& path, std::string& text, Diagnostics& diags) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        diags.error({path, 0, 0}, std::string("cannot read the manifest: ") + std::strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        diags.error({path, 0, 0}, S_ISDIR(st.st_mode) ? "cannot read the manifest: it is a directory"
                                                      : "cannot read the manifest: not a regular file");
        return false;
    }
    if (std::uintmax_t(st.st_size) > kMaxManifestBytes) {
        diags.error({path, 1, 1}, "the manifest is larger than " + std::to_string(kMaxManifestBytes >> 20) + " MiB");
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
        diags.error({path, 0, 0}, std::string("cannot read the manifest: ") + std::strerror(errno));
        return false;
    }
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.replace(0, 3, 3, ' '); // a BOM: blank, so columns still count
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '\0') {
            diags.error(markAt(path, text, i), "not a text manifest: a NUL byte (binary data?)");
            return false;
        }
        const std::size_t length = utf8Length(text, i);
        if (length == 0) {
            diags.error(markAt(path, text, i), "not a text manifest: a byte that is not UTF-8 (binary data?)");
            return false;
        }
        i += length;
    }
    const bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
    if (blank) {
        diags.error({path, 1, 1}, "the manifest is empty: expected a header row (" + knownColumnsText() + ")");
        return false;
    }
    return true;
}

// ---- CSV ---------------------------------------------------------------------------------

struct CsvField {
    std::string text;
    SourceMark mark;
};

/// RFC 4180 records. Blank lines are skipped. Errors (a quote left open, text after a closing
/// quote) go to `diags`; the record they are in is dropped.
std::vector<std::vector<CsvField>> parseCsv(const std::string& file, const std::string& text, Diagnostics& diags) {
    std::vector<std::vector<CsvField>> records;
    std::vector<CsvField> record;
    bool recordBad = false;
    int line = 1, column = 1;
    std::size_t i = 0;
    const std::size_t n = text.size();
    auto advance = [&] {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
        ++i;
    };
    auto endRecord = [&] {
        const bool blank = record.size() == 1 && trimmed(record[0].text).empty() && record[0].text.find('"') == std::string::npos;
        if (!recordBad && !blank) records.push_back(std::move(record));
        record.clear();
        recordBad = false;
    };
    while (true) {
        CsvField field;
        field.mark = {file, line, column};
        bool quoted = false;
        if (i < n && text[i] == '"') {
            quoted = true;
            const SourceMark open = field.mark;
            advance();
            bool closed = false;
            while (i < n) {
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        field.text += '"';
                        advance();
                        advance();
                        continue;
                    }
                    advance();
                    closed = true;
                    break;
                }
                field.text += text[i];
                advance();
            }
            if (!closed) {
                diags.error(open, "a quoted field is never closed (a '\"' is missing)");
                return records;
            }
            if (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r')) {
                diags.error({file, line, column},
                            "unexpected text after a closing quote (write \"\" for a quote inside a quoted field)");
                recordBad = true;
                while (i < n && text[i] != '\n') advance();
            }
        } else {
            while (i < n && text[i] != ',' && text[i] != '\n') {
                field.text += text[i];
                advance();
            }
        }
        if (!quoted && !field.text.empty() && field.text.back() == '\r') field.text.pop_back();
        record.push_back(std::move(field));
        if (i < n && text[i] == '\r') advance();
        if (i >= n) {
            endRecord();
            return records;
        }
        if (text[i] == ',') {
            advance();
            continue;
        }
        advance(); // '\n'
        endRecord();
        if (i >= n) return records;
    }
}

void readCsv(const std::string& file, const std::string& text, std::vector<RawRow>& raws, Diagnostics& diags) {
    const auto records = parseCsv(file, text, diags);
    if (records.empty()) {
        if (!diags.hasErrors())
            diags.error({file, 1, 1}, "the manifest is empty: expected a header row (" + knownColumnsText() + ")");
        return;
    }
    const auto& header = records[0];
    std::vector<std::string> columns; // per header field; "" = ignored
    std::set<std::string> seen;
    for (const auto& field : header) {
        const std::string name = trimmed(field.text);
        if (!isKnownColumn(name)) {
            diags.error(field.mark, "unknown column '" + name + "' (columns: " + knownColumnsText() + ")");
            columns.emplace_back();
        } else if (!seen.insert(name).second) {
            diags.error(field.mark, "column '" + name + "' is given twice");
            columns.emplace_back();
        } else {
            columns.push_back(name);
        }
    }
    for (const char* required : {"input", "output", "graph"})
        if (!seen.count(required))
            diags.error(header[0].mark,
                        std::string("missing column '") + required + "' (the header must name input, output and graph)");
    if (diags.hasErrors()) return; // without a sound header, the rows cannot be read
    for (std::size_t r = 1; r < records.size(); ++r) {
        const auto& record = records[r];
        RawRow raw;
        raw.mark = record[0].mark;
        if (record.size() != header.size()) {
            diags.error(record.size() > header.size() ? record[header.size()].mark : record.back().mark,
                        "this row has " + plural(long(record.size()), "field", "fields") + ", the header has " +
                            std::to_string(header.size()));
            continue;
        }
        for (std::size_t c = 0; c < record.size(); ++c) {
            if (columns[c].empty()) continue;
            Cell cell{record[c].text, record[c].mark, {}};
            cell.items = splitItems(cell.text, cell.mark);
            raw.cells[columns[c]] = std::move(cell);
        }
        raws.push_back(std::move(raw));
    }
}

// ---- YAML --------------------------------------------------------------------------------

SourceMark yamlMark(const std::string& file, const YAML::Mark& mark) {
    if (mark.line < 0) return {file, 0, 0};
    return {file, mark.line + 1, mark.column + 1};
}

/// Nesting deeper than kMaxYamlDepth, found from parser events before any tree is built (so
/// yaml-cpp's recursive descent never runs deep on a hostile file).
struct TooDeep {
    YAML::Mark mark;
};
class DepthCheck : public YAML::EventHandler {
public:
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        open(mark);
    }
    void OnSequenceEnd() override { --depth_; }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        open(mark);
    }
    void OnMapEnd() override { --depth_; }

private:
    int depth_ = 0;
    void open(const YAML::Mark& mark) {
        if (++depth_ > kMaxYamlDepth) throw TooDeep{mark};
    }
};

void readYaml(const std::string& file, const std::string& text, std::vector<RawRow>& raws, Diagnostics& diags) {
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DepthCheck check;
        while (parser.HandleNextDocument(check)) {
        }
    } catch (const TooDeep& deep) {
        diags.error(yamlMark(file, deep.mark), "lists and maps nested more than " + std::to_string(kMaxYamlDepth) +
                                                   " deep: a manifest is a list of rows of text, lists and maps");
        return;
    } catch (const YAML::Exception& e) {
        diags.error(yamlMark(file, e.mark), "malformed YAML: " + e.msg);
        return;
    }
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
        diags.error(yamlMark(file, e.mark), e.msg);
        return;
    }
    if (documents.empty() || documents[0].IsNull()) {
        diags.error({file, 1, 1}, "the manifest is empty: expected a list of rows (- {input: …, output: …, graph: …})");
        return;
    }
    if (documents.size() > 1) {
        diags.error(yamlMark(file, documents[1].Mark()), "a second YAML document: a manifest is one list of rows");
        return;
    }
    const YAML::Node& root = documents[0];
    if (!root.IsSequence()) {
        diags.error(yamlMark(file, root.Mark()), "expected a list of rows (- {input: …, output: …, graph: …})");
        return;
    }
    for (const auto& row : root) {
        const SourceMark rowMark = yamlMark(file, row.Mark());
        if (!row.IsMap()) {
            diags.error(rowMark, "a row must be a map of columns (input, output, graph, …)");
            continue;
        }
        RawRow raw;
        raw.mark = rowMark;
        bool bad = false;
        for (const auto& entry : row) {
            const SourceMark keyMark = yamlMark(file, entry.first.Mark());
            const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
            if (!isKnownColumn(key)) {
                diags.error(keyMark, "unknown column '" + key + "' (columns: " + knownColumnsText() + ")");
                bad = true;
                continue;
            }
            if (raw.cells.count(key)) {
                diags.error(keyMark, "column '" + key + "' is given twice");
                bad = true;
                continue;
            }
            const YAML::Node& value = entry.second;
            Cell cell;
            cell.mark = yamlMark(file, value.Mark());
            if (cell.mark.line == 0) cell.mark = keyMark;
            const bool listable = key == "input" || key == "output" || key == "set";
            if (value.IsNull()) {
                // an empty cell
            } else if (value.IsScalar()) {
                cell.text = value.Scalar();
                cell.items = splitItems(cell.text, cell.mark);
            } else if (value.IsSequence() && listable) {
                for (const auto& item : value) {
                    if (!item.IsScalar()) {
                        diags.error(yamlMark(file, item.Mark()), "column '" + key + "': expected a list of text items");
                        bad = true;
                        continue;
                    }
                    cell.text += (cell.text.empty() ? "" : ";") + item.Scalar();
                    cell.items.push_back({trimmed(item.Scalar()), yamlMark(file, item.Mark())});
                }
            } else if (value.IsMap() && (key == "input" || key == "output")) {
                for (const auto& port : value) {
                    if (!port.first.IsScalar() || !port.second.IsScalar()) {
                        diags.error(yamlMark(file, port.first.Mark()), "column '" + key + "': expected NAME: FILE");
                        bad = true;
                        continue;
                    }
                    const std::string item = port.first.Scalar() + "=" + port.second.Scalar();
                    cell.text += (cell.text.empty() ? "" : ";") + item;
                    cell.items.push_back({item, yamlMark(file, port.first.Mark())});
                }
            } else {
                diags.error(cell.mark, "column '" + key + "': expected " +
                                           (listable ? std::string("text, or a list") + (key == "set" ? "" : " or a map")
                                                     : std::string("text")));
                bad = true;
                continue;
            }
            raw.cells[key] = std::move(cell);
        }
        for (const char* required : {"input", "output", "graph"})
            if (!raw.cells.count(required) && !bad) {
                diags.error(rowMark, std::string("missing column '") + required + "' (every row names input, output and graph)");
                bad = true;
            }
        if (!bad) raws.push_back(std::move(raw));
    }
}

// ---- rows --------------------------------------------------------------------------------

/// A port name before '=' in "NAME=FILE" (graph names: letters, digits, '_', '-').
bool isPortName(const std::string& text) {
    if (text.empty()) return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string resolvePath(const fs::path& folder, const std::string& path) {
    if (folder.empty() || fs::path(path).is_absolute()) return path;
    return (folder / path).lexically_normal().string();
}

/// "--target: …" from the render parsers as the column's message: "target: …".
std::string columnMessage(std::string message) {
    if (message.rfind("--", 0) == 0) message.erase(0, 2);
    if (message.rfind("max-gain", 0) == 0) message.replace(0, 8, "max_gain");
    return message;
}

/// Checks the cells of `raw` and appends the row. Returns false after reporting its errors.
bool convertRow(const RawRow& raw, const fs::path& folder, int index, std::vector<BatchRow>& rows, Diagnostics& diags) {
    const int errorsBefore = diags.errorCount();
    BatchRow row;
    row.index = index;
    row.line = raw.mark.line;
    auto cell = [&](const char* name) -> const Cell* {
        const auto it = raw.cells.find(name);
        return it == raw.cells.end() ? nullptr : &it->second;
    };
    auto files = [&](const Cell& c, const char* column, std::vector<std::string>& args, std::vector<std::string>& paths) {
        for (const auto& item : c.items) {
            const auto eq = item.text.find('=');
            std::string name, file = item.text;
            if (eq != std::string::npos && isPortName(item.text.substr(0, eq))) {
                name = item.text.substr(0, eq);
                file = trimmed(item.text.substr(eq + 1));
                if (file.empty()) {
                    diags.error(item.mark, std::string(column) + ": no file after '" + name + "='");
                    continue;
                }
            }
            const std::string resolved = resolvePath(folder, file);
            args.push_back(name.empty() ? resolved : name + "=" + resolved);
            paths.push_back(resolved);
        }
    };
    const Cell* graph = cell("graph");
    if (!graph || trimmed(graph->text).empty()) {
        diags.error(graph ? graph->mark : raw.mark, "this row names no graph");
    } else {
        row.graphText = graph->text;
        row.graph = resolvePath(folder, trimmed(graph->text));
    }
    if (const Cell* input = cell("input")) {
        row.inputText = input->text;
        row.inputMark = input->mark;
        files(*input, "input", row.inputs, row.inputFiles);
    }
    const Cell* output = cell("output");
    if (!output || output->items.empty()) {
        diags.error(output ? output->mark : raw.mark, "this row names no output file");
    } else {
        row.outputText = output->text;
        row.outputMark = output->mark;
        files(*output, "output", row.outputs, row.outputFiles);
    }
    if (const Cell* set = cell("set")) {
        for (const auto& item : set->items) {
            const auto eq = item.text.find('=');
            if (eq == std::string::npos || eq == 0)
                diags.error(item.mark, "set: expected node.param=VALUE, got '" + item.text + "'");
            else
                row.overrides.push_back(item.text);
        }
    }
    const Cell* target = cell("target");
    const Cell* ceiling = cell("ceiling");
    const Cell* maxGain = cell("max_gain");
    const bool haveTarget = target && !trimmed(target->text).empty();
    if (haveTarget) {
        LoudnessTarget parsed;
        if (auto error = parseLoudnessTarget(trimmed(target->text), parsed); !error.empty())
            diags.error(target->mark, columnMessage(error));
        if (ceiling && !trimmed(ceiling->text).empty())
            if (auto error = parseCeiling(trimmed(ceiling->text), parsed.ceilingDbtp); !error.empty())
                diags.error(ceiling->mark, columnMessage(error));
        if (maxGain && !trimmed(maxGain->text).empty())
            if (auto error = parseMaxGain(trimmed(maxGain->text), parsed.maxGainDb); !error.empty())
                diags.error(maxGain->mark, columnMessage(error));
        row.target = parsed;
    } else {
        if (ceiling && !trimmed(ceiling->text).empty())
            diags.error(ceiling->mark, "ceiling needs a target (it is the true-peak ceiling of a loudness target)");
        if (maxGain && !trimmed(maxGain->text).empty())
            diags.error(maxGain->mark, "max_gain needs a target (it caps the gain a loudness target applies)");
    }
    if (const Cell* format = cell("format"); format && !trimmed(format->text).empty()) {
        row.format = io::parseOutputFormat(trimmed(format->text));
        if (!row.format)
            diags.error(format->mark,
                        "format: unknown format '" + trimmed(format->text) + "' (wav16, wav24, wav32f, flac16 or flac24)");
    }
    rows.push_back(std::move(row)); // with its errors too: the checks across rows still see it
    return diags.errorCount() == errorsBefore;
}

/// The same file, for two rows: absolute and lexically normal (files need not exist yet).
std::string pathKey(const std::string& path) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    return (ec ? fs::path(path) : absolute).lexically_normal().string();
}

/// No two rows write one file, and no row reads another row's output (rows run in any order,
/// on any machine).
void checkAcrossRows(const std::vector<BatchRow>& rows, Diagnostics& diags) {
    std::map<std::string, int> writers; // output -> line
    for (const auto& row : rows)
        for (const auto& out : row.outputFiles) {
            const auto [it, inserted] = writers.emplace(pathKey(out), row.line);
            if (!inserted)
                diags.error(row.outputMark, "output '" + out + "' is also written by the row on line " +
                                                std::to_string(it->second) + "; every row needs its own outputs");
        }
    for (const auto& row : rows)
        for (const auto& in : row.inputFiles)
            if (const auto it = writers.find(pathKey(in)); it != writers.end())
                diags.error(row.inputMark, "input '" + in + "' is the output of the row on line " + std::to_string(it->second) +
                                               "; rows run in any order and on any machine, so none may read another's output");
}

} // namespace

const std::vector<std::string>& batchColumns() {
    static const std::vector<std::string> columns = {"input",  "output",  "graph",    "set",
                                                     "target", "ceiling", "max_gain", "format"};
    return columns;
}

void readBatchManifest(const std::string& path, std::vector<BatchRow>& rows, Diagnostics& diags) {
    rows.clear();
    const std::string extension = fs::path(path).extension().string();
    const bool csv = extension == ".csv" || extension == ".CSV";
    const bool yaml = extension == ".yaml" || extension == ".yml" || extension == ".YAML" || extension == ".YML";
    if (!csv && !yaml) {
        diags.error({path, 0, 0}, "cannot tell the manifest's format from its name: expected .csv, .yaml or .yml");
        return;
    }
    std::string text;
    if (!readManifestText(path, text, diags)) return;
    std::vector<RawRow> raws;
    Diagnostics found;
    if (csv)
        readCsv(path, text, raws, found);
    else
        readYaml(path, text, raws, found);
    const fs::path folder = fs::path(path).parent_path();
    int index = 0;
    for (const auto& raw : raws) convertRow(raw, folder, index++, rows, found);
    checkAcrossRows(rows, found);
    // In the order of the file, as a compiler lists them.
    std::vector<Diagnostic> sorted = found.all();
    std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.mark.line != b.mark.line ? a.mark.line < b.mark.line : a.mark.column < b.mark.column;
    });
    for (auto& d : sorted) diags.error(d.mark, std::move(d.message));
    if (diags.hasErrors()) rows.clear();
}

} // namespace sg::cli
