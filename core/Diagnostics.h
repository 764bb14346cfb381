// Source marks and diagnostics: every graph error carries file:line:column and a message a
// user understands. One run collects every error it can find.
#pragma once

#include <string>
#include <vector>

namespace sg {

/// A position in a source file; line and column are 1-based (0 = unknown).
struct SourceMark {
    std::string file;
    int line = 0;
    int column = 0;
};

/// One error or warning with its position.
struct Diagnostic {
    enum class Severity { Error, Warning, Note };
    Severity severity = Severity::Error;
    SourceMark mark;
    std::string message;
    /// "file:line:col: error: message" (compiler style).
    std::string format() const;
};

/// Collects diagnostics across passes. Passes keep going after an error where they can.
class Diagnostics {
public:
    void error(const SourceMark& mark, std::string message);
    void warning(const SourceMark& mark, std::string message);
    void note(const SourceMark& mark, std::string message);
    bool hasErrors() const { return errorCount_ > 0; }
    int errorCount() const { return errorCount_; }
    const std::vector<Diagnostic>& all() const { return list_; }
    /// All diagnostics, one formatted line each, in the order they were reported.
    std::string formatAll() const;

private:
    std::vector<Diagnostic> list_;
    int errorCount_ = 0;
};

/// "1 channel", "2 channels": a count with its noun, for messages.
std::string plural(long long count, const char* one, const char* many);

} // namespace sg
