#ifndef QUOTECAST_CPU_H
#define QUOTECAST_CPU_H

// CPU hints that Swift has no spelling for. Header-only and inlined: the core calls them per message.

/// Starts loading the cache line at `address` for reading, without waiting for it.
static inline __attribute__((always_inline)) void quotecast_prefetch(const void *address) {
  __builtin_prefetch(address, 0, 3);
}

/// Starts loading the cache line at `address` for writing, without waiting for it.
static inline __attribute__((always_inline)) void quotecast_prefetch_for_write(const void *address) {
  __builtin_prefetch(address, 1, 3);
}

#endif
