// The ABI is header-only; this file exists so SwiftPM builds the C target.
#include "gateway_channel.h"

_Static_assert(sizeof(size_t) == 8 || sizeof(size_t) == 4, "unsupported platform");
