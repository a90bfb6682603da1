/* IMAP over libetpan: connect (plain, STARTTLS, implicit TLS with our own certificate check),
 * LOGIN, SELECT, UID FETCH, UID STORE, IDLE. One cemail_imap is used by one thread at a time. */
#include "cemail.h"
#include "imap_guard.h"

#include <libetpan/libetpan.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cemail_imap {
    mailimap *session;
    struct cemail_guard *guard;
    int idle_ready;
};

static void set_err(char *err, size_t cap, const char *what, mailimap *session, struct cemail_guard *guard, int code) {
    const char *response = (session && session->imap_response) ? session->imap_response : NULL;
    const char *violation = cemail_guard_violation(guard);
    if (violation)
        snprintf(err, cap, "%s: %s (connection dropped)", what, violation);
    else if (response && *response)
        snprintf(err, cap, "%s: %s", what, response);
    else
        snprintf(err, cap, "%s (libetpan error %d)", what, code);
}

static void sni_callback(struct mailstream_ssl_context *context, void *data) {
    const char *host = data;
    if (host) mailstream_ssl_set_server_name(context, (char *)host);
}

/* The chain the TLS layer received, checked with OpenSSL before any credential is sent. */
static int verify_stream(mailstream *stream, const cemail_server *server, char *err, size_t cap) {
    carray *chain = mailstream_get_certificate_chain(stream);
    if (!chain) {
        snprintf(err, cap, "the TLS layer gave no certificate chain to verify");
        return -1;
    }
    unsigned count = carray_count(chain);
    const unsigned char **certs = calloc(count ? count : 1, sizeof *certs);
    size_t *lengths = calloc(count ? count : 1, sizeof *lengths);
    for (unsigned i = 0; i < count; i++) {
        MMAPString *der = carray_get(chain, i);
        certs[i] = (const unsigned char *)der->str;
        lengths[i] = der->len;
    }
    int result = cemail_verify_chain(certs, lengths, count, server->host, server->ca_file, err, cap);
    free(certs);
    free(lengths);
    mailstream_certificate_chain_free(chain);
    return result;
}

/* Reads of a stream without its own timeout (before login) wait at most this long, instead of
 * libetpan's default of minutes. */
static pthread_once_t delay_once = PTHREAD_ONCE_INIT;
static void set_network_delay(void) {
    mailstream_network_delay.tv_sec = 30;
    mailstream_network_delay.tv_usec = 0;
}

static int is_ok(int r) { return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED || r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED; }

cemail_imap *cemail_imap_open(const cemail_server *server, int *kind, char *err, size_t err_cap) {
    *kind = CEMAIL_ERR_NETWORK;
    pthread_once(&delay_once, set_network_delay);
    mailimap *session = mailimap_new(0, NULL);
    if (!session) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    mailimap_set_timeout(session, server->timeout_seconds > 0 ? server->timeout_seconds : 30);
    int r;
    if (server->tls == CEMAIL_TLS_IMPLICIT) {
        r = mailimap_ssl_connect_with_callback(session, server->host, server->port, sni_callback, (void *)server->host);
    } else {
        r = mailimap_socket_connect(session, server->host, server->port);
    }
    if (!is_ok(r)) {
        if (r == MAILIMAP_ERROR_SSL) *kind = CEMAIL_ERR_TLS;
        char what[300];
        snprintf(what, sizeof what, "cannot connect to IMAP server %s:%u%s", server->host, (unsigned)server->port,
                 r == MAILIMAP_ERROR_SSL ? " (TLS handshake failed)" : "");
        set_err(err, err_cap, what, NULL, NULL, r);
        mailimap_free(session);
        return NULL;
    }
    if (server->tls == CEMAIL_TLS_STARTTLS) {
        r = mailimap_socket_starttls_with_callback(session, sni_callback, (void *)server->host);
        if (r != MAILIMAP_NO_ERROR) {
            *kind = CEMAIL_ERR_TLS;
            set_err(err, err_cap, "STARTTLS failed", session, NULL, r);
            mailimap_free(session);
            return NULL;
        }
    }
    if (server->tls != CEMAIL_TLS_NONE && verify_stream(session->imap_stream, server, err, err_cap) != 0) {
        *kind = CEMAIL_ERR_TLS;
        mailimap_free(session);
        return NULL;
    }
    /* From here on every response passes the guard (imap_guard.c). */
    struct cemail_guard *guard = cemail_guard_install(session->imap_stream, server->timeout_seconds > 0 ? server->timeout_seconds : 30);
    r = mailimap_login(session, server->username ? server->username : "", server->password ? server->password : "");
    if (r != MAILIMAP_NO_ERROR) {
        *kind = (r == MAILIMAP_ERROR_LOGIN) ? CEMAIL_ERR_AUTH : CEMAIL_ERR_NETWORK;
        set_err(err, err_cap, r == MAILIMAP_ERROR_LOGIN ? "IMAP login rejected" : "IMAP login failed", session, guard, r);
        mailimap_free(session);
        return NULL;
    }
    /* LOGIN may not have carried the capabilities: ask, so IDLE support is known. */
    struct mailimap_capability_data *caps = NULL;
    if (mailimap_capability(session, &caps) == MAILIMAP_NO_ERROR && caps) mailimap_capability_data_free(caps);
    cemail_imap *imap = calloc(1, sizeof *imap);
    imap->session = session;
    imap->guard = guard;
    *kind = CEMAIL_OK;
    return imap;
}

void cemail_imap_close(cemail_imap *imap) {
    if (!imap) return;
    if (imap->idle_ready) mailstream_unsetup_idle(imap->session->imap_stream);
    if (imap->session->imap_stream) mailimap_logout(imap->session);
    mailimap_free(imap->session);
    free(imap);
}

int cemail_imap_has_idle(cemail_imap *imap) { return mailimap_has_idle(imap->session); }

int cemail_imap_select(cemail_imap *imap, const char *mailbox, uint32_t *uidvalidity, uint32_t *uidnext,
                       uint32_t *exists, char *err, size_t err_cap) {
    int r = mailimap_select(imap->session, mailbox);
    if (r != MAILIMAP_NO_ERROR) {
        char what[300];
        snprintf(what, sizeof what, "cannot select mailbox %s", mailbox);
        set_err(err, err_cap, what, imap->session, imap->guard, r);
        return r == MAILIMAP_ERROR_EXTENSION || r == MAILIMAP_ERROR_SELECT ? CEMAIL_ERR_PROTOCOL : CEMAIL_ERR_NETWORK;
    }
    struct mailimap_selection_info *info = imap->session->imap_selection_info;
    *uidvalidity = info ? info->sel_uidvalidity : 0;
    *uidnext = info ? info->sel_uidnext : 0;
    *exists = info ? info->sel_exists : 0;
    return CEMAIL_OK;
}

static int network_or_protocol(int r) {
    return (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_CONNECTION_REFUSED) ? CEMAIL_ERR_NETWORK
                                                                                   : CEMAIL_ERR_PROTOCOL;
}

static int compare_uid(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;  /* uid_size starts with the uid */
    return x < y ? -1 : x > y;
}

typedef struct { uint32_t uid, size; } uid_size;

int cemail_imap_uids_after(cemail_imap *imap, uint32_t after, uint32_t **uids, uint32_t **sizes, size_t *count,
                           char *err, size_t err_cap) {
    *uids = NULL;
    *sizes = NULL;
    *count = 0;
    struct mailimap_set *set = mailimap_set_new_interval(after + 1, 0); /* after+1:* */
    struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid());
    mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_rfc822_size());
    clist *result = NULL;
    int r = mailimap_uid_fetch(imap->session, set, type, &result);
    mailimap_fetch_type_free(type);
    mailimap_set_free(set);
    if (r != MAILIMAP_NO_ERROR) {
        set_err(err, err_cap, "UID FETCH failed", imap->session, imap->guard, r);
        return network_or_protocol(r);
    }
    size_t capacity = clist_count(result) + 1, n = 0;
    uid_size *list = malloc(capacity * sizeof *list);
    for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);
        uint32_t uid = 0, size = 0;
        for (clistiter *item = clist_begin(att->att_list); item; item = clist_next(item)) {
            struct mailimap_msg_att_item *entry = clist_content(item);
            if (entry->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC) continue;
            if (entry->att_data.att_static->att_type == MAILIMAP_MSG_ATT_UID)
                uid = entry->att_data.att_static->att_data.att_uid;
            else if (entry->att_data.att_static->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
                size = entry->att_data.att_static->att_data.att_rfc822_size;
        }
        /* "n:*" also answers the last message when nothing is newer than n. */
        if (uid > after && n < capacity) list[n++] = (uid_size){uid, size};
    }
    mailimap_fetch_list_free(result);
    qsort(list, n, sizeof *list, compare_uid);
    *uids = malloc((n ? n : 1) * sizeof **uids);
    *sizes = malloc((n ? n : 1) * sizeof **sizes);
    for (size_t i = 0; i < n; i++) {
        (*uids)[i] = list[i].uid;
        (*sizes)[i] = list[i].size;
    }
    free(list);
    *count = n;
    return CEMAIL_OK;
}

int cemail_imap_fetch(cemail_imap *imap, uint32_t uid, int header_only, char **data, size_t *length, char *err,
                      size_t err_cap) {
    *data = NULL;
    *length = 0;
    struct mailimap_set *set = mailimap_set_new_single(uid);
    struct mailimap_fetch_type *type = mailimap_fetch_type_new_fetch_att_list_empty();
    mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_uid());
    struct mailimap_section *section = header_only ? mailimap_section_new_header() : mailimap_section_new(NULL);
    mailimap_fetch_type_new_fetch_att_list_add(type, mailimap_fetch_att_new_body_peek_section(section));
    clist *result = NULL;
    int r = mailimap_uid_fetch(imap->session, set, type, &result);
    mailimap_fetch_type_free(type);
    mailimap_set_free(set);
    if (r != MAILIMAP_NO_ERROR) {
        set_err(err, err_cap, "UID FETCH BODY.PEEK[] failed", imap->session, imap->guard, r);
        return network_or_protocol(r);
    }
    int found = 0;
    for (clistiter *it = clist_begin(result); it && !found; it = clist_next(it)) {
        struct mailimap_msg_att *att = clist_content(it);
        uint32_t seen_uid = 0;
        const char *body = NULL;
        size_t body_length = 0;
        for (clistiter *item = clist_begin(att->att_list); item; item = clist_next(item)) {
            struct mailimap_msg_att_item *entry = clist_content(item);
            if (entry->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC) continue;
            struct mailimap_msg_att_static *s = entry->att_data.att_static;
            if (s->att_type == MAILIMAP_MSG_ATT_UID) seen_uid = s->att_data.att_uid;
            if (s->att_type == MAILIMAP_MSG_ATT_BODY_SECTION && s->att_data.att_body_section) {
                body = s->att_data.att_body_section->sec_body_part;
                body_length = s->att_data.att_body_section->sec_length;
            }
        }
        if (seen_uid == uid) {
            found = 1;
            *data = malloc(body_length + 1);
            if (body_length) memcpy(*data, body, body_length);
            (*data)[body_length] = 0;
            *length = body_length;
        }
    }
    mailimap_fetch_list_free(result);
    if (!found) {
        snprintf(err, err_cap, "message UID %u is gone", uid);
        return CEMAIL_ERR_NOT_FOUND;
    }
    return CEMAIL_OK;
}

int cemail_imap_mark_seen(cemail_imap *imap, const uint32_t *uids, size_t count, char *err, size_t err_cap) {
    if (count == 0) return CEMAIL_OK;
    struct mailimap_set *set = mailimap_set_new_empty();
    for (size_t i = 0; i < count; i++) mailimap_set_add_single(set, uids[i]);
    struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
    mailimap_flag_list_add(flags, mailimap_flag_new_seen());
    struct mailimap_store_att_flags *store = mailimap_store_att_flags_new_add_flags_silent(flags);
    int r = mailimap_uid_store(imap->session, set, store);
    mailimap_store_att_flags_free(store);
    mailimap_set_free(set);
    if (r != MAILIMAP_NO_ERROR) {
        set_err(err, err_cap, "UID STORE +FLAGS (\\Seen) failed", imap->session, imap->guard, r);
        return network_or_protocol(r);
    }
    return CEMAIL_OK;
}

int cemail_imap_noop(cemail_imap *imap, char *err, size_t err_cap) {
    int r = mailimap_noop(imap->session);
    if (r != MAILIMAP_NO_ERROR) {
        set_err(err, err_cap, "NOOP failed", imap->session, imap->guard, r);
        return network_or_protocol(r);
    }
    return CEMAIL_OK;
}

int cemail_imap_idle_start(cemail_imap *imap, char *err, size_t err_cap) {
    if (!imap->idle_ready) {
        if (mailstream_setup_idle(imap->session->imap_stream) != 0) {
            snprintf(err, err_cap, "cannot set up IDLE waiting");
            return CEMAIL_ERR_PROTOCOL;
        }
        imap->idle_ready = 1;
    }
    int r = mailimap_idle(imap->session);
    if (r != MAILIMAP_NO_ERROR) {
        set_err(err, err_cap, "IDLE failed", imap->session, imap->guard, r);
        return network_or_protocol(r);
    }
    return CEMAIL_OK;
}

int cemail_imap_idle_wait(cemail_imap *imap, int seconds) {
    mailstream *stream = imap->session->imap_stream;
    /* Data the server sent along with the continuation is already buffered. */
    if (stream->read_buffer_len > 0) return 1;
    int r = mailstream_wait_idle(stream, seconds);
    switch (r) {
    case MAILSTREAM_IDLE_HASDATA: return 1;
    case MAILSTREAM_IDLE_TIMEOUT: return 0;
    case MAILSTREAM_IDLE_INTERRUPTED: return 0;
    default: return -1;
    }
}

int cemail_imap_idle_done(cemail_imap *imap, char *err, size_t err_cap) {
    int r = mailimap_idle_done(imap->session);
    if (r != MAILIMAP_NO_ERROR) {
        set_err(err, err_cap, "IDLE DONE failed", imap->session, imap->guard, r);
        return network_or_protocol(r);
    }
    return CEMAIL_OK;
}

void cemail_imap_interrupt(cemail_imap *imap) {
    if (imap && imap->idle_ready) mailstream_interrupt_idle(imap->session->imap_stream);
}
