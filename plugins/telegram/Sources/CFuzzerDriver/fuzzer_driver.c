#include "fuzzer_driver.h"
#include <stdio.h>

__attribute__((weak)) int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t)) {
    (void)argc; (void)argv; (void)callback;
    fprintf(stderr, "mtproto-fuzz: built without libFuzzer; build with -Xswiftc -sanitize=fuzzer (scripts/fuzz.sh)\n");
    return 2;
}
