#ifndef FUZZER_DRIVER_H
#define FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (from clang's fuzzer runtime when built with -sanitize=fuzzer). A weak
/// stand-in is linked otherwise, so the fuzz executable builds in plain `swift build` too.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
