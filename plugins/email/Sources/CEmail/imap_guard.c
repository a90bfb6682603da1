/* A mailstream_low driver that sits between libetpan's IMAP parser and the connection and drops
 * the connection when the server's responses could hurt the parser: libetpan parses nested
 * parenthesized lists recursively (a hostile "((((…" 100,000 deep overflowed a thread's stack) and
 * allocates literals of whatever size the server announces. The guard tracks, outside quoted
 * strings and literals, the nesting depth of each response line, and the size of each literal. */
#include "imap_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NORMAL, QUOTED, QUOTED_ESCAPE, LITERAL_SIZE, LITERAL_CR, LITERAL_LF, LITERAL_BODY };

struct cemail_guard {
    mailstream_low *inner;
    int state;
    int depth;
    uint64_t literal;      /* size being read, then bytes left */
    char violation[160];
};

static struct cemail_guard *guard_of(mailstream_low *s) { return s->data; }

/* 0 when `data` is acceptable; -1 (and a reason) when the connection must be dropped. */
static int scan(struct cemail_guard *g, const unsigned char *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        unsigned char c = data[i];
        switch (g->state) {
        case NORMAL:
            if (c == '"') g->state = QUOTED;
            else if (c == '{') { g->state = LITERAL_SIZE; g->literal = 0; }
            else if (c == '(' || c == '[') {
                if (++g->depth > CEMAIL_GUARD_MAX_DEPTH) {
                    snprintf(g->violation, sizeof g->violation,
                             "the server sent a response nested deeper than %d levels", CEMAIL_GUARD_MAX_DEPTH);
                    return -1;
                }
            } else if (c == ')' || c == ']') { if (g->depth > 0) g->depth--; }
            else if (c == '\n') g->depth = 0;
            break;
        case QUOTED:
            if (c == '\\') g->state = QUOTED_ESCAPE;
            else if (c == '"') g->state = NORMAL;
            else if (c == '\n') { g->state = NORMAL; g->depth = 0; }
            break;
        case QUOTED_ESCAPE:
            g->state = QUOTED;
            break;
        case LITERAL_SIZE:
            if (c >= '0' && c <= '9') {
                g->literal = g->literal * 10 + (uint64_t)(c - '0');
                if (g->literal > CEMAIL_GUARD_MAX_LITERAL) {
                    snprintf(g->violation, sizeof g->violation,
                             "the server announced a literal of more than %llu bytes",
                             (unsigned long long)CEMAIL_GUARD_MAX_LITERAL);
                    return -1;
                }
            } else if (c == '+') {
                /* LITERAL+ marker */
            } else if (c == '}') g->state = LITERAL_CR;
            else g->state = NORMAL;  /* not a literal after all ("{" in text) */
            break;
        case LITERAL_CR:
            g->state = c == '\r' ? LITERAL_LF : (c == '\n' ? (g->literal ? LITERAL_BODY : NORMAL) : NORMAL);
            break;
        case LITERAL_LF:
            g->state = c == '\n' ? (g->literal ? LITERAL_BODY : NORMAL) : NORMAL;
            break;
        case LITERAL_BODY: {
            size_t left = length - i;
            size_t take = g->literal < left ? (size_t)g->literal : left;
            g->literal -= take;
            i += take - 1;
            if (g->literal == 0) g->state = NORMAL;
            break;
        }
        }
    }
    return 0;
}

static ssize_t guard_read(mailstream_low *s, void *buf, size_t count) {
    struct cemail_guard *g = guard_of(s);
    if (g->violation[0]) return -1;
    ssize_t r = mailstream_low_read(g->inner, buf, count);
    /* End of stream is an error: libetpan loops forever reading a literal whose connection
     * closed (read returns 0 again and again), found with a server that closes mid-literal. */
    if (r == 0) {
        snprintf(g->violation, sizeof g->violation, "the server closed the connection");
        return -1;
    }
    if (r > 0 && scan(g, buf, (size_t)r) != 0) return -1;
    return r;
}

static ssize_t guard_write(mailstream_low *s, const void *buf, size_t count) {
    return mailstream_low_write(guard_of(s)->inner, buf, count);
}

static int guard_close(mailstream_low *s) { return mailstream_low_close(guard_of(s)->inner); }

static int guard_get_fd(mailstream_low *s) { return mailstream_low_get_fd(guard_of(s)->inner); }

static void guard_free(mailstream_low *s) {
    struct cemail_guard *g = guard_of(s);
    mailstream_low_free(g->inner);
    free(g);
    free(s);
}

static void guard_cancel(mailstream_low *s) { mailstream_low_cancel(guard_of(s)->inner); }

static struct mailstream_cancel *guard_get_cancel(mailstream_low *s) {
    mailstream_low *inner = guard_of(s)->inner;
    return inner->driver->mailstream_get_cancel ? inner->driver->mailstream_get_cancel(inner) : NULL;
}

static carray *guard_get_certificate_chain(mailstream_low *s) {
    mailstream_low *inner = guard_of(s)->inner;
    return inner->driver->mailstream_get_certificate_chain ? inner->driver->mailstream_get_certificate_chain(inner) : NULL;
}

static int guard_setup_idle(mailstream_low *s) {
    mailstream_low *inner = guard_of(s)->inner;
    return inner->driver->mailstream_setup_idle ? inner->driver->mailstream_setup_idle(inner) : -1;
}

static int guard_unsetup_idle(mailstream_low *s) {
    mailstream_low *inner = guard_of(s)->inner;
    return inner->driver->mailstream_unsetup_idle ? inner->driver->mailstream_unsetup_idle(inner) : -1;
}

static int guard_interrupt_idle(mailstream_low *s) {
    mailstream_low *inner = guard_of(s)->inner;
    return inner->driver->mailstream_interrupt_idle ? inner->driver->mailstream_interrupt_idle(inner) : -1;
}

static mailstream_low_driver guard_driver = {
    guard_read, guard_write, guard_close, guard_get_fd, guard_free, guard_cancel, guard_get_cancel,
    guard_get_certificate_chain, guard_setup_idle, guard_unsetup_idle, guard_interrupt_idle,
};

struct cemail_guard *cemail_guard_install(mailstream *stream, time_t timeout) {
    mailstream_low *inner = mailstream_get_low(stream);
    struct cemail_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    mailstream_low *low = mailstream_low_new(g, &guard_driver);
    if (!low) {
        free(g);
        return NULL;
    }
    g->inner = inner;
    /* Reads wait at most `timeout` (0 would mean libetpan's global delay of minutes). */
    mailstream_low_set_timeout(inner, timeout);
    mailstream_low_set_timeout(low, timeout);
    mailstream_set_low(stream, low);
    return g;
}

const char *cemail_guard_violation(const struct cemail_guard *guard) {
    return guard && guard->violation[0] ? guard->violation : NULL;
}
