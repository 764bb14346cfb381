// libFuzzer target: the unit parser (core/Units.h). Every text is parsed as every unit kind;
// a value must be finite or an error message must say why, and formatting a parsed value must
// not crash.
#include "core/Units.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    using sg::UnitKind;
    for (UnitKind kind : {UnitKind::Frequency, UnitKind::Gain, UnitKind::Time, UnitKind::Percent, UnitKind::Ratio,
                          UnitKind::Loudness, UnitKind::TruePeak, UnitKind::Plain}) {
        const sg::ParsedQuantity q = sg::parseQuantity(text, kind);
        if (q.value) {
            if (!std::isfinite(*q.value)) std::abort(); // a parsed value is always a finite number
            (void)sg::formatQuantity(*q.value, kind);
        } else if (q.error.empty()) {
            std::abort(); // no value and no reason
        }
    }
    return 0;
}
