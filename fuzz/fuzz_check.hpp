#pragma once
// Property checks for the fuzz targets. A violated property aborts, which libFuzzer reports as a crash
// and saves the input: a wrong answer on odd input is as much a finding as a segfault.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz property violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
