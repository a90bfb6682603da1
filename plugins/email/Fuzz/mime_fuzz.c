/* libFuzzer target over the email MIME parser (libetpan through CEmail's mime.c) and charset
 * conversion: scripts/fuzz-email.sh builds it with AddressSanitizer and runs it for a bounded time. */
#include "cemail.h"
#include <stdint.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cemail_message *m = cemail_mime_parse((const char *)data, size);
    for (size_t i = 0; m && i < m->part_count; i++) {
        char *out = NULL; size_t len = 0;
        if (m->parts[i].charset) { cemail_to_utf8(m->parts[i].charset, m->parts[i].data, m->parts[i].length, &out, &len); free(out); }
    }
    cemail_mime_free(m);
    return 0;
}
