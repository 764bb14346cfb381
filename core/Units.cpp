#include "core/Units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sg {

const char* baseUnitSymbol(UnitKind kind) {
    switch (kind) {
    case UnitKind::Frequency:
        return "Hz";
    case UnitKind::Gain:
        return "dB";
    case UnitKind::Time:
        return "ms";
    case UnitKind::Percent:
        return "%";
    case UnitKind::Ratio:
        return ":1";
    case UnitKind::Loudness:
        return "LUFS";
    case UnitKind::TruePeak:
        return "dBTP";
    case UnitKind::Plain:
        return "";
    }
    return "";
}

const char* unitKindDescription(UnitKind kind) {
    switch (kind) {
    case UnitKind::Frequency:
        return "a frequency (Hz, kHz)";
    case UnitKind::Gain:
        return "a gain (dB)";
    case UnitKind::Time:
        return "a time (ms, s)";
    case UnitKind::Percent:
        return "a percentage (%)";
    case UnitKind::Ratio:
        return "a ratio (4:1 or 4)";
    case UnitKind::Loudness:
        return "a loudness (LUFS)";
    case UnitKind::TruePeak:
        return "a true-peak level (dBTP)";
    case UnitKind::Plain:
        return "a plain number";
    }
    return "a value";
}

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// Which kind a unit symbol belongs to, and the factor/offset to the kind's base unit.
struct UnitSymbol {
    const char* symbol; // lower case
    UnitKind kind;
    double scale;
};

constexpr UnitSymbol kSymbols[] = {
    {"hz", UnitKind::Frequency, 1.0},  {"khz", UnitKind::Frequency, 1000.0}, {"db", UnitKind::Gain, 1.0},
    {"dbfs", UnitKind::Gain, 1.0},     {"ms", UnitKind::Time, 1.0},          {"s", UnitKind::Time, 1000.0},
    {"us", UnitKind::Time, 0.001},     {"sec", UnitKind::Time, 1000.0},      {"%", UnitKind::Percent, 1.0},
    {"lufs", UnitKind::Loudness, 1.0}, {"lkfs", UnitKind::Loudness, 1.0},    {"dbtp", UnitKind::TruePeak, 1.0},
};

bool parseNumber(std::string_view s, double& out, std::size_t& used) {
    // strtod needs a terminated string; values are short.
    std::string tmp(s);
    const char* begin = tmp.c_str();
    char* end = nullptr;
    out = std::strtod(begin, &end);
    used = std::size_t(end - begin);
    if (used == 0) return false;
    // reject hex floats, inf, nan spelled as numbers
    std::string head = lower(std::string_view(tmp).substr(0, used));
    if (head.find('x') != std::string::npos || head.find("inf") != std::string::npos || head.find("nan") != std::string::npos)
        return false;
    return std::isfinite(out);
}

} // namespace

namespace {
ParsedQuantity parseFiniteOrNot(std::string_view rawText, UnitKind kind);
} // namespace

// A number that overflows once scaled (1e308 kHz) or divided (1e300:1e-300) is an error, never an
// infinite parameter value: found by fuzz/fuzz_units.cpp.
ParsedQuantity parseQuantity(std::string_view rawText, UnitKind kind) {
    ParsedQuantity r = parseFiniteOrNot(rawText, kind);
    if (r.value && !std::isfinite(*r.value)) {
        ParsedQuantity tooLarge;
        tooLarge.error = "value '" + std::string(rawText) + "' is too large";
        return tooLarge;
    }
    return r;
}

namespace {
ParsedQuantity parseFiniteOrNot(std::string_view rawText, UnitKind kind) {
    std::string_view text = trim(rawText);
    auto fail = [&](const std::string& why) {
        ParsedQuantity r;
        r.error = why.empty() ? std::string("expected ") + unitKindDescription(kind) + ", got '" + std::string(text) + "'" : why;
        return r;
    };
    if (text.empty()) return fail("");

    // Linear gain factor: "x2", "0.5x"
    if (kind == UnitKind::Gain) {
        std::string l = lower(text);
        std::string_view num;
        if (l.size() > 1 && l.front() == 'x')
            num = text.substr(1);
        else if (l.size() > 1 && l.back() == 'x')
            num = text.substr(0, text.size() - 1);
        if (!num.empty()) {
            double v;
            std::size_t used;
            if (parseNumber(trim(num), v, used) && used == trim(num).size()) {
                if (v <= 0) return fail("a linear gain factor must be greater than 0, got '" + std::string(text) + "'");
                ParsedQuantity r;
                r.value = 20.0 * std::log10(v);
                return r;
            }
        }
    }
    // Ratio "4:1"
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        if (kind != UnitKind::Ratio) return fail("");
        double a, b;
        std::size_t ua, ub;
        auto left = trim(text.substr(0, colon)), right = trim(text.substr(colon + 1));
        if (!parseNumber(left, a, ua) || ua != left.size() || !parseNumber(right, b, ub) || ub != right.size() || b <= 0)
            return fail("");
        ParsedQuantity r;
        r.value = a / b;
        return r;
    }

    double number;
    std::size_t used;
    if (!parseNumber(text, number, used)) return fail("");
    std::string_view unit = trim(text.substr(used));
    if (unit.empty()) {
        ParsedQuantity r;
        r.value = number;
        return r;
    }
    if (kind == UnitKind::Plain) return fail("expected a plain number without a unit, got '" + std::string(text) + "'");
    std::string u = lower(unit);
    for (const auto& sym : kSymbols) {
        if (u == sym.symbol) {
            if (sym.kind != kind) return fail("");
            ParsedQuantity r;
            r.value = number * sym.scale;
            return r;
        }
    }
    return fail("");
}

} // namespace

std::string formatQuantity(double value, UnitKind kind) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", value);
    std::string out = buf;
    if (kind == UnitKind::Ratio) return out + ":1";
    if (kind == UnitKind::Percent) return out + " %";
    if (kind == UnitKind::Plain) return out;
    return out + " " + baseUnitSymbol(kind);
}

double dbToGain(double db) { return std::pow(10.0, db / 20.0); }
double gainToDb(double gain) { return 20.0 * std::log10(gain); }

} // namespace sg
