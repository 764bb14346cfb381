// Shared helpers of the loader phases: the error sink, suggestions and the name rules.
#include "core/loader/LoaderModel.h"

#include "core/Registry.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstring>

namespace sg::loader {

void ErrorSink::error(const SourceMark& mark, std::string message) {
    auto key = std::make_tuple(mark.file, mark.line, mark.column, message);
    if (!seen_.insert(key).second) return;
    list_.push_back({Diagnostic::Severity::Error, mark, std::move(message)});
}

void ErrorSink::flushInto(Diagnostics& diags) {
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

std::string quote(const std::string& s) { return "'" + s + "'"; }

namespace {

/// True if `a` is `b` with two adjacent characters swapped ("tpye" / "type").
bool isTransposition(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    std::size_t i = 0;
    while (i < a.size() && a[i] == b[i]) ++i;
    return i + 1 < a.size() && a[i] == b[i + 1] && a[i + 1] == b[i] && a.compare(i + 2, std::string::npos, b, i + 2) == 0;
}

} // namespace

// Near misses only: an adjacent swap counts as one edit; words of 1-2 letters get no
// suggestion, 3-4 letters one edit, longer words two.
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

bool isName(const std::string& s) {
    if (s.empty() || !isNameStart(s[0])) return false;
    return std::all_of(s.begin(), s.end(), isNameChar);
}

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

} // namespace sg::loader
