// Counting heap allocations, for the real-time safety tests (compiled into stagegraph_rt_tests
// only, since it replaces the program's allocator).
//
// With glibc and no sanitizer, malloc, calloc, realloc and the aligned allocators are
// interposed (glibc documents replacing malloc this way and exports __libc_malloc & co.), which
// every operator new goes through as well. Under AddressSanitizer, which owns malloc, global
// operator new and delete are replaced instead, so C++ allocations are still counted.
#pragma once

#include <functional>

namespace sg::test {

/// True when allocations can be counted in this build.
bool rtCountingAvailable();
/// True when C-level malloc calls are counted too (not only operator new).
bool rtCountingMalloc();
/// The number of allocations made on any thread while `body` runs.
long allocationsDuring(const std::function<void()>& body);

} // namespace sg::test
