// Counts heap allocations made by the calling thread, by interposing malloc and friends on
// glibc's allocator in the test executable. Used to prove the hot path allocates nothing.
#ifndef QUOTECAST_MALLOC_COUNTER_H
#define QUOTECAST_MALLOC_COUNTER_H

#include <stdint.h>

/// Allocations (malloc, calloc, realloc, memalign family) by this thread since it started.
uint64_t qc_thread_allocations(void);

#endif
