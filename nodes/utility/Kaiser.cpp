#include "nodes/utility/Kaiser.h"

#include <algorithm>
#include <cmath>

namespace sg::kaiser {

double besselI0(double x) {
    double sum = 1, term = 1;
    for (int k = 1; k < 200; ++k) {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
        if (term < sum * 1e-17) break;
    }
    return sum;
}

double beta(double attenuationDb) {
    if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
    if (attenuationDb >= 21) return 0.5842 * std::pow(attenuationDb - 21, 0.4) + 0.07886 * (attenuationDb - 21);
    return 0;
}

double window(double r, double beta) { return besselI0(beta * std::sqrt(std::max(0.0, 1 - r * r))) / besselI0(beta); }

} // namespace sg::kaiser
