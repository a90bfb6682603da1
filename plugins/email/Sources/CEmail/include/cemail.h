#ifndef CEMAIL_H
#define CEMAIL_H
/* A small C layer over libetpan (IMAP, MIME), libcurl (SMTP) and OpenSSL (certificate checks):
 * what Swift cannot do directly (variadic curl_easy_setopt, unions, clist walking, macros).
 * Plain C types only; every result allocated here is released by the matching *_free function.
 * All calls block: run them on threads of their own (see EmailCore's BlockingThread). */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Blocks SIGPIPE on the calling thread: a write to a socket the peer closed then fails with
 * EPIPE instead of killing the process (libetpan writes with write()). */
void cemail_block_sigpipe(void);

/* SHA-256 of `data` into `digest` (32 bytes): deterministic Message-IDs and content ids. */
void cemail_sha256(const void *data, size_t length, unsigned char digest[32]);

/* ---------------------------------------------------------------------------------------------
 * TLS and servers */

enum { CEMAIL_TLS_NONE = 0, CEMAIL_TLS_STARTTLS = 1, CEMAIL_TLS_IMPLICIT = 2 };
/* What went wrong, so the caller can map it to a status and decide whether to retry. */
enum { CEMAIL_OK = 0, CEMAIL_ERR_NETWORK = 1, CEMAIL_ERR_TLS = 2, CEMAIL_ERR_AUTH = 3, CEMAIL_ERR_PROTOCOL = 4,
       CEMAIL_ERR_NOT_FOUND = 5 };

typedef struct cemail_server {
    const char *host;
    uint16_t port;
    int tls;                 /* CEMAIL_TLS_* */
    const char *username;
    const char *password;
    const char *ca_file;     /* PEM bundle to trust instead of the system's; NULL: system store */
    long timeout_seconds;    /* connect and per-command network timeout */
} cemail_server;

/* Verifies a DER certificate chain (leaf first) for `host` (a DNS name or an IP literal) against
 * `ca_file` or the system store. 0 when trusted; else an explanation in `err`. */
int cemail_verify_chain(const unsigned char *const *certs, const size_t *lengths, size_t count, const char *host,
                        const char *ca_file, char *err, size_t err_cap);

/* ---------------------------------------------------------------------------------------------
 * IMAP (libetpan) */

typedef struct cemail_imap cemail_imap;

/* Connects, negotiates TLS as asked (verifying the server certificate before any credential is
 * sent) and logs in. NULL on failure with *kind = CEMAIL_ERR_* and the reason in `err`. */
cemail_imap *cemail_imap_open(const cemail_server *server, int *kind, char *err, size_t err_cap);
/* LOGOUT (best effort) and free. */
void cemail_imap_close(cemail_imap *imap);
int cemail_imap_has_idle(cemail_imap *imap);
/* SELECT (read-write); the mailbox's UIDVALIDITY, UIDNEXT (0 when the server sent none) and EXISTS. */
int cemail_imap_select(cemail_imap *imap, const char *mailbox, uint32_t *uidvalidity, uint32_t *uidnext,
                       uint32_t *exists, char *err, size_t err_cap);
/* The UIDs greater than `after`, ascending, and each message's RFC822.SIZE (malloc'd into *uids
 * and *sizes; free both with free()). */
int cemail_imap_uids_after(cemail_imap *imap, uint32_t after, uint32_t **uids, uint32_t **sizes, size_t *count,
                           char *err, size_t err_cap);
/* The full message, or only its header when `header_only` (BODY.PEEK[] / BODY.PEEK[HEADER]: the
 * \Seen flag is not set). CEMAIL_ERR_NOT_FOUND when it is gone. */
int cemail_imap_fetch(cemail_imap *imap, uint32_t uid, int header_only, char **data, size_t *length, char *err,
                      size_t err_cap);
/* Adds \Seen to the given UIDs. */
int cemail_imap_mark_seen(cemail_imap *imap, const uint32_t *uids, size_t count, char *err, size_t err_cap);
int cemail_imap_noop(cemail_imap *imap, char *err, size_t err_cap);
/* IDLE: start, wait up to `seconds` for the server to say something (1: data, 0: timeout, -1:
 * error), then DONE (which reads the server's untagged responses). */
int cemail_imap_idle_start(cemail_imap *imap, char *err, size_t err_cap);
int cemail_imap_idle_wait(cemail_imap *imap, int seconds);
int cemail_imap_idle_done(cemail_imap *imap, char *err, size_t err_cap);
/* Wakes a thread blocked in cemail_imap_idle_wait (callable from any thread). */
void cemail_imap_interrupt(cemail_imap *imap);

/* ---------------------------------------------------------------------------------------------
 * SMTP (libcurl) */

typedef struct cemail_smtp_request {
    cemail_server server;
    const char *auth_mechanism;   /* "PLAIN", "LOGIN" or NULL (the best the server offers) */
    const char *helo_domain;      /* NULL: curl's default */
    const char *from;             /* envelope sender (MAIL FROM) */
    const char *const *recipients;
    size_t recipient_count;
    const char *data;             /* the message, CRLF line ends */
    size_t length;
    int connect_only;             /* 1: connect, TLS, EHLO and AUTH only (validates credentials) */
} cemail_smtp_request;

/* Sends one message. Returns the CURLcode (0 = accepted by the server). `*transcript` (malloc'd,
 * free with free()) gets the SMTP dialogue without credentials: lines "C: <command>" and
 * "S: <reply>", for per-recipient replies. `err` gets curl's message. */
int cemail_smtp_send(const cemail_smtp_request *request, char **transcript, char *err, size_t err_cap);

/* ---------------------------------------------------------------------------------------------
 * MIME (libetpan) */

typedef struct cemail_address {
    char *name;      /* decoded display name (UTF-8) or NULL */
    char *address;   /* addr-spec or NULL */
} cemail_address;

typedef struct cemail_part {
    char *type;              /* lower case "text/plain" */
    char *charset;           /* NULL when absent */
    char *filename;          /* decoded (RFC 2047 / 2231 as libetpan does) or NULL */
    char *content_id;
    int is_attachment;       /* Content-Disposition: attachment, or a named non-text part */
    char *data;              /* transfer-decoded content */
    size_t length;
} cemail_part;

typedef struct cemail_message {
    int structure_ok;        /* 0: no MIME structure could be parsed; parts then hold the raw body */
    char *message_id;        /* without <> */
    char *in_reply_to;       /* ids without <>, separated by spaces */
    char *references;        /* ids without <>, separated by spaces, oldest first */
    char *subject;           /* decoded (UTF-8 as far as the charset is known) */
    cemail_address *from; size_t from_count;
    cemail_address *to; size_t to_count;
    cemail_address *cc; size_t cc_count;
    cemail_address *reply_to; size_t reply_to_count;
    int has_date;
    int64_t date;            /* seconds since 1970, UTC */
    cemail_part *parts; size_t part_count;
    char *raw_body;          /* everything after the header block, for when no part holds text */
    size_t raw_body_length;
    char *warnings;          /* problems seen, one per line, or NULL */
} cemail_message;

/* Never fails: a message nothing could be made of has structure_ok = 0 and a warning. */
cemail_message *cemail_mime_parse(const char *data, size_t length);
void cemail_mime_free(cemail_message *message);

/* Converts `data` from `charset` to UTF-8 (iconv through libetpan). 0: ok; 1: unknown charset;
 * 2: conversion failed. *out is malloc'd (free with free()). */
int cemail_to_utf8(const char *charset, const char *data, size_t length, char **out, size_t *out_length);
/* Decodes RFC 2047 encoded words in a header value to UTF-8; NULL when it cannot. free() it. */
char *cemail_decode_header(const char *value, size_t length);

#ifdef __cplusplus
}
#endif
#endif
