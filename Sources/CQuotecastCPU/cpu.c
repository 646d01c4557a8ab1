// Everything is inline in include/quotecast_cpu.h; SwiftPM needs one source file per C target.
#include "quotecast_cpu.h"
