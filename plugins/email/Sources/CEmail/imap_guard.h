#ifndef CEMAIL_IMAP_GUARD_H
#define CEMAIL_IMAP_GUARD_H
#include <libetpan/libetpan.h>
#include <stdint.h>
#include <time.h>

/* Deepest parenthesized/bracketed nesting accepted in a server response (real ones stay under 20). */
#define CEMAIL_GUARD_MAX_DEPTH 64
/* Largest literal accepted (a whole message is one literal). */
#define CEMAIL_GUARD_MAX_LITERAL ((uint64_t)256 << 20)

struct cemail_guard;

/* Puts the guard between `stream` and its connection; NULL when out of memory (no guard). */
struct cemail_guard *cemail_guard_install(mailstream *stream, time_t timeout);
/* Why the guard dropped the connection, or NULL. */
const char *cemail_guard_violation(const struct cemail_guard *guard);
#endif
