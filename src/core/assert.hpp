#pragma once

#include <cstdio>
#include <cstdlib>

/// Programmer errors only, never external input. PORTLINE_CHECK is always on.
#define PORTLINE_CHECK(cond, msg)                                                               \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "CHECK failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, msg); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

#ifdef NDEBUG
#define PORTLINE_ASSERT(cond) ((void)0)
#else
#define PORTLINE_ASSERT(cond) PORTLINE_CHECK(cond, "assertion")
#endif
