#include "core/Diagnostics.h"

namespace sg {

std::string plural(long long count, const char* one, const char* many) {
    return std::to_string(count) + " " + (count == 1 ? one : many);
}

std::string Diagnostic::format() const {
    std::string out;
    if (!mark.file.empty())
        out += mark.file;
    else
        out += "<input>";
    if (mark.line > 0) {
        out += ':' + std::to_string(mark.line);
        if (mark.column > 0) out += ':' + std::to_string(mark.column);
    }
    switch (severity) {
    case Severity::Error:
        out += ": error: ";
        break;
    case Severity::Warning:
        out += ": warning: ";
        break;
    case Severity::Note:
        out += ": note: ";
        break;
    }
    out += message;
    return out;
}

void Diagnostics::error(const SourceMark& mark, std::string message) {
    list_.push_back({Diagnostic::Severity::Error, mark, std::move(message)});
    ++errorCount_;
}
void Diagnostics::warning(const SourceMark& mark, std::string message) {
    list_.push_back({Diagnostic::Severity::Warning, mark, std::move(message)});
}
void Diagnostics::note(const SourceMark& mark, std::string message) {
    list_.push_back({Diagnostic::Severity::Note, mark, std::move(message)});
}

std::string Diagnostics::formatAll() const {
    std::string out;
    for (const auto& d : list_) out += d.format() + '\n';
    return out;
}

} // namespace sg
