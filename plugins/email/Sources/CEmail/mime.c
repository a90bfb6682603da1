#define _GNU_SOURCE /* memmem */
/* MIME parsing with libetpan into a flat cemail_message: the header fields the gateway needs
 * (decoded), every leaf part transfer-decoded, and warnings for what was broken. Never fails:
 * whatever cannot be parsed is reported, not fatal. */
#include "cemail.h"

#include <libetpan/libetpan.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 40
#define MAX_PARTS 500

typedef struct {
    cemail_message *message;
    size_t part_capacity;
    size_t warnings_length;
} builder;

static char *copy_n(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    if (n) memcpy(r, s, n);
    r[n] = 0;
    return r;
}

static char *copy(const char *s) { return s ? copy_n(s, strlen(s)) : NULL; }

static void warn(builder *b, const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    size_t n = strlen(line);
    if (b->warnings_length > 16384) return;
    char *grown = realloc(b->message->warnings, b->warnings_length + n + 2);
    if (!grown) return;
    b->message->warnings = grown;
    memcpy(grown + b->warnings_length, line, n);
    b->warnings_length += n;
    grown[b->warnings_length++] = '\n';
    grown[b->warnings_length] = 0;
}

char *cemail_decode_header(const char *value, size_t length) {
    if (!value) return NULL;
    size_t index = 0;
    char *decoded = NULL;
    if (mailmime_encoded_phrase_parse("utf-8", value, length, &index, "utf-8", &decoded) != MAILIMF_NO_ERROR)
        return NULL;
    return decoded;
}

int cemail_to_utf8(const char *charset, const char *data, size_t length, char **out, size_t *out_length) {
    *out = NULL;
    *out_length = 0;
    char *result = NULL;
    size_t result_length = 0;
    int r = charconv_buffer("utf-8", charset, data, length, &result, &result_length);
    if (r == MAIL_CHARCONV_ERROR_UNKNOWN_CHARSET) return 1;
    if (r != MAIL_CHARCONV_NO_ERROR || !result) return 2;
    *out = copy_n(result, result_length);
    *out_length = result_length;
    charconv_buffer_free(result);
    return 0;
}

static char *decoded_or_copy(const char *value) {
    if (!value) return NULL;
    char *decoded = cemail_decode_header(value, strlen(value));
    return decoded ? decoded : copy(value);
}

/* ---- addresses ---------------------------------------------------------------------------- */

static void add_address(cemail_address **list, size_t *count, struct mailimf_mailbox *mailbox) {
    if (!mailbox) return;
    cemail_address *grown = realloc(*list, (*count + 1) * sizeof **list);
    if (!grown) return;
    *list = grown;
    grown[*count].name = decoded_or_copy(mailbox->mb_display_name);
    grown[*count].address = copy(mailbox->mb_addr_spec);
    (*count)++;
}

static void add_mailbox_list(cemail_address **list, size_t *count, struct mailimf_mailbox_list *mailboxes) {
    if (!mailboxes || !mailboxes->mb_list) return;
    for (clistiter *it = clist_begin(mailboxes->mb_list); it; it = clist_next(it)) add_address(list, count, clist_content(it));
}

static void add_address_list(cemail_address **list, size_t *count, struct mailimf_address_list *addresses) {
    if (!addresses || !addresses->ad_list) return;
    for (clistiter *it = clist_begin(addresses->ad_list); it; it = clist_next(it)) {
        struct mailimf_address *address = clist_content(it);
        if (address->ad_type == MAILIMF_ADDRESS_MAILBOX) add_address(list, count, address->ad_data.ad_mailbox);
        else if (address->ad_type == MAILIMF_ADDRESS_GROUP && address->ad_data.ad_group)
            add_mailbox_list(list, count, address->ad_data.ad_group->grp_mb_list);
    }
}

static char *join_ids(clist *ids) {
    if (!ids) return NULL;
    size_t total = 1;
    for (clistiter *it = clist_begin(ids); it; it = clist_next(it)) total += strlen(clist_content(it)) + 1;
    char *joined = calloc(total, 1);
    if (!joined) return NULL;
    for (clistiter *it = clist_begin(ids); it; it = clist_next(it)) {
        if (joined[0]) strcat(joined, " ");
        strcat(joined, (const char *)clist_content(it));
    }
    return joined;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void read_fields(builder *b, struct mailimf_fields *fields) {
    cemail_message *m = b->message;
    if (!fields || !fields->fld_list) return;
    for (clistiter *it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
        struct mailimf_field *field = clist_content(it);
        switch (field->fld_type) {
        case MAILIMF_FIELD_MESSAGE_ID:
            if (!m->message_id && field->fld_data.fld_message_id) m->message_id = copy(field->fld_data.fld_message_id->mid_value);
            break;
        case MAILIMF_FIELD_IN_REPLY_TO:
            if (!m->in_reply_to && field->fld_data.fld_in_reply_to) m->in_reply_to = join_ids(field->fld_data.fld_in_reply_to->mid_list);
            break;
        case MAILIMF_FIELD_REFERENCES:
            if (!m->references && field->fld_data.fld_references) m->references = join_ids(field->fld_data.fld_references->mid_list);
            break;
        case MAILIMF_FIELD_SUBJECT:
            if (!m->subject && field->fld_data.fld_subject) m->subject = decoded_or_copy(field->fld_data.fld_subject->sbj_value);
            break;
        case MAILIMF_FIELD_FROM:
            if (field->fld_data.fld_from) add_mailbox_list(&m->from, &m->from_count, field->fld_data.fld_from->frm_mb_list);
            break;
        case MAILIMF_FIELD_TO:
            if (field->fld_data.fld_to) add_address_list(&m->to, &m->to_count, field->fld_data.fld_to->to_addr_list);
            break;
        case MAILIMF_FIELD_CC:
            if (field->fld_data.fld_cc) add_address_list(&m->cc, &m->cc_count, field->fld_data.fld_cc->cc_addr_list);
            break;
        case MAILIMF_FIELD_REPLY_TO:
            if (field->fld_data.fld_reply_to)
                add_address_list(&m->reply_to, &m->reply_to_count, field->fld_data.fld_reply_to->rt_addr_list);
            break;
        case MAILIMF_FIELD_ORIG_DATE:
            if (!m->has_date && field->fld_data.fld_orig_date && field->fld_data.fld_orig_date->dt_date_time) {
                struct mailimf_date_time *t = field->fld_data.fld_orig_date->dt_date_time;
                if (t->dt_month >= 1 && t->dt_month <= 12 && t->dt_day >= 1 && t->dt_day <= 31 && t->dt_year > 0) {
                    int zone = t->dt_zone, sign = zone < 0 ? -1 : 1;
                    zone *= sign;
                    int64_t offset = sign * ((zone / 100) * 3600 + (zone % 100) * 60);
                    m->date = days_from_civil(t->dt_year, t->dt_month, t->dt_day) * 86400 + t->dt_hour * 3600 +
                              t->dt_min * 60 + t->dt_sec - offset;
                    m->has_date = 1;
                }
            }
            break;
        case MAILIMF_FIELD_OPTIONAL_FIELD: {
            struct mailimf_optional_field *optional = field->fld_data.fld_optional_field;
            if (!optional || !optional->fld_name) break;
            const char *name = optional->fld_name;
            if (!strcasecmp(name, "Subject") || !strcasecmp(name, "From") || !strcasecmp(name, "Date") ||
                !strcasecmp(name, "Message-ID") || !strcasecmp(name, "To") || !strcasecmp(name, "References") ||
                !strcasecmp(name, "In-Reply-To"))
                warn(b, "header %s could not be parsed", name);
            if (!strcasecmp(name, "Subject") && !m->subject) m->subject = decoded_or_copy(optional->fld_value);
            break;
        }
        default:
            break;
        }
    }
}

/* ---- parts -------------------------------------------------------------------------------- */

static char *content_type_string(struct mailmime_content *content) {
    if (!content || !content->ct_type) return copy("text/plain");
    const char *major = "application";
    struct mailmime_type *type = content->ct_type;
    if (type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE && type->tp_data.tp_discrete_type) {
        switch (type->tp_data.tp_discrete_type->dt_type) {
        case MAILMIME_DISCRETE_TYPE_TEXT: major = "text"; break;
        case MAILMIME_DISCRETE_TYPE_IMAGE: major = "image"; break;
        case MAILMIME_DISCRETE_TYPE_AUDIO: major = "audio"; break;
        case MAILMIME_DISCRETE_TYPE_VIDEO: major = "video"; break;
        case MAILMIME_DISCRETE_TYPE_APPLICATION: major = "application"; break;
        case MAILMIME_DISCRETE_TYPE_EXTENSION:
            major = type->tp_data.tp_discrete_type->dt_extension ? type->tp_data.tp_discrete_type->dt_extension : "application";
            break;
        }
    } else if (type->tp_data.tp_composite_type) {
        switch (type->tp_data.tp_composite_type->ct_type) {
        case MAILMIME_COMPOSITE_TYPE_MESSAGE: major = "message"; break;
        case MAILMIME_COMPOSITE_TYPE_MULTIPART: major = "multipart"; break;
        default:
            major = type->tp_data.tp_composite_type->ct_token ? type->tp_data.tp_composite_type->ct_token : "multipart";
        }
    }
    const char *minor = content->ct_subtype ? content->ct_subtype : "octet-stream";
    size_t n = strlen(major) + strlen(minor) + 2;
    char *result = malloc(n);
    if (!result) return NULL;
    snprintf(result, n, "%s/%s", major, minor);
    for (char *p = result; *p; p++) *p = (char)tolower((unsigned char)*p);
    return result;
}

static int base64_is_clean(const char *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)data[i];
        if (!(isalnum(c) || c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t')) return 0;
    }
    return 1;
}

static int quoted_printable_is_clean(const char *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        if (data[i] != '=') continue;
        if (i + 1 < length && (data[i + 1] == '\r' || data[i + 1] == '\n')) continue;
        if (i + 2 < length && isxdigit((unsigned char)data[i + 1]) && isxdigit((unsigned char)data[i + 2])) continue;
        /* soft line break with trailing whitespace */
        size_t j = i + 1;
        while (j < length && (data[j] == ' ' || data[j] == '\t')) j++;
        if (j < length && (data[j] == '\r' || data[j] == '\n')) continue;
        if (j == length) continue;
        return 0;
    }
    return 1;
}

static void add_part(builder *b, struct mailmime *mime, const char *type, struct mailmime_single_fields *single,
                     const char *data, size_t length, int encoding) {
    cemail_message *m = b->message;
    if (m->part_count >= MAX_PARTS) {
        if (m->part_count == MAX_PARTS) warn(b, "more than %d parts: the rest is ignored", MAX_PARTS);
        return;
    }
    if (m->part_count == b->part_capacity) {
        size_t capacity = b->part_capacity ? b->part_capacity * 2 : 4;
        cemail_part *grown = realloc(m->parts, capacity * sizeof *grown);
        if (!grown) return;
        m->parts = grown;
        b->part_capacity = capacity;
    }
    cemail_part *part = &m->parts[m->part_count];
    memset(part, 0, sizeof *part);
    part->type = copy(type);
    if (single) {
        part->charset = copy(single->fld_content_charset);
        const char *name = single->fld_disposition_filename ? single->fld_disposition_filename : single->fld_content_name;
        part->filename = decoded_or_copy(name);
        part->content_id = copy(single->fld_id);
        if (single->fld_disposition && single->fld_disposition->dsp_type &&
            single->fld_disposition->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT)
            part->is_attachment = 1;
    }
    if (strncmp(type, "text/", 5) != 0 && (part->filename || strncmp(type, "message/", 8) == 0)) part->is_attachment = 1;
    if (strncmp(type, "text/", 5) != 0 && strncmp(type, "multipart/", 10) != 0) part->is_attachment = 1;

    if (encoding == MAILMIME_MECHANISM_BASE64 && !base64_is_clean(data, length))
        warn(b, "part %zu (%s): invalid characters in base64 content were skipped", m->part_count + 1, type);
    if (encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE && !quoted_printable_is_clean(data, length))
        warn(b, "part %zu (%s): malformed quoted-printable escapes", m->part_count + 1, type);
    if (encoding == MAILMIME_MECHANISM_BASE64 || encoding == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
        size_t index = 0, decoded_length = 0;
        char *decoded = NULL;
        /* libetpan's decoders read a few bytes past `length` on a truncated escape ("=" or a base64
         * quantum at the very end; found by fuzzing): decode a copy with zeroed padding. */
        char *padded = calloc(length + 16, 1);
        if (!padded) return;
        memcpy(padded, data, length);
        int r = mailmime_part_parse(padded, length, &index, encoding, &decoded, &decoded_length);
        free(padded);
        if (r == MAILIMF_NO_ERROR && decoded) {
            part->data = copy_n(decoded, decoded_length);
            part->length = decoded_length;
            mmap_string_unref(decoded);
        } else {
            warn(b, "part %zu (%s): content could not be decoded, kept as is", m->part_count + 1, type);
            part->data = copy_n(data, length);
            part->length = length;
        }
    } else {
        part->data = copy_n(data, length);
        part->length = length;
    }
    (void)mime;
    m->part_count++;
}

static void walk(builder *b, struct mailmime *mime, int depth) {
    if (!mime) return;
    if (depth > MAX_DEPTH) {
        warn(b, "MIME nesting deeper than %d levels: the rest is ignored", MAX_DEPTH);
        return;
    }
    struct mailmime_single_fields single;
    memset(&single, 0, sizeof single);
    mailmime_single_fields_init(&single, mime->mm_mime_fields, mime->mm_content_type);
    char *type = content_type_string(mime->mm_content_type);
    if (!type) return;
    switch (mime->mm_type) {
    case MAILMIME_SINGLE: {
        struct mailmime_data *body = mime->mm_data.mm_single;
        int encoding = single.fld_encoding ? single.fld_encoding->enc_type : MAILMIME_MECHANISM_7BIT;
        if (body && body->dt_type == MAILMIME_DATA_TEXT)
            add_part(b, mime, type, &single, body->dt_data.dt_text.dt_data, body->dt_data.dt_text.dt_length, encoding);
        else
            add_part(b, mime, type, &single, "", 0, MAILMIME_MECHANISM_7BIT);
        break;
    }
    case MAILMIME_MULTIPLE: {
        const char *boundary = single.fld_content_boundary;
        if (!boundary) warn(b, "%s without a boundary parameter", type);
        clist *list = mime->mm_data.mm_multipart.mm_mp_list;
        if (boundary && mime->mm_mime_start) {
            size_t blen = strlen(boundary);
            char *opening = malloc(blen + 3);
            snprintf(opening, blen + 3, "--%s", boundary);
            int found = memmem(mime->mm_mime_start, mime->mm_length, opening, blen + 2) != NULL;
            free(opening);
            if (!found) {
                warn(b, "%s: the boundary \"%s\" never appears in the body (broken boundary)", type, boundary);
                break;
            }
        }
        if (!list || clist_count(list) == 0) {
            warn(b, "%s has no parts (broken boundary?)", type);
        } else if (boundary && mime->mm_mime_start) {
            size_t blen = strlen(boundary);
            char *closing = malloc(blen + 5);
            snprintf(closing, blen + 5, "--%s--", boundary);
            if (!memmem(mime->mm_mime_start, mime->mm_length, closing, blen + 4))
                warn(b, "%s: closing boundary missing (truncated message?)", type);
            free(closing);
        }
        for (clistiter *it = list ? clist_begin(list) : NULL; it; it = clist_next(it)) walk(b, clist_content(it), depth + 1);
        break;
    }
    case MAILMIME_MESSAGE:
        if (depth == 0) {
            read_fields(b, mime->mm_data.mm_message.mm_fields);
            walk(b, mime->mm_data.mm_message.mm_msg_mime, depth + 1);
        } else {
            /* An attached message: listed, not expanded. */
            add_part(b, mime, type, &single, mime->mm_mime_start ? mime->mm_mime_start : "",
                     mime->mm_mime_start ? mime->mm_length : 0, MAILMIME_MECHANISM_7BIT);
        }
        break;
    }
    free(type);
}

static void find_raw_body(cemail_message *m, const char *data, size_t length) {
    for (size_t i = 0; i + 1 < length; i++) {
        if (data[i] == '\n' && data[i + 1] == '\n') {
            m->raw_body = copy_n(data + i + 2, length - i - 2);
            m->raw_body_length = length - i - 2;
            return;
        }
        if (i + 3 < length && data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n') {
            m->raw_body = copy_n(data + i + 4, length - i - 4);
            m->raw_body_length = length - i - 4;
            return;
        }
    }
    m->raw_body = copy_n("", 0);
}

cemail_message *cemail_mime_parse(const char *data, size_t length) {
    if (!data) { data = ""; length = 0; }
    cemail_message *m = calloc(1, sizeof *m);
    /* Parse a NUL-padded copy: libetpan's scanners must never read past the caller's buffer. */
    char *padded = calloc(length + 16, 1);
    if (!m || !padded) {
        free(m);
        free(padded);
        return NULL;
    }
    memcpy(padded, data, length);
    builder b = {m, 0, 0};
    find_raw_body(m, padded, length);
    size_t index = 0;
    struct mailmime *mime = NULL;
    int r = mailmime_parse(padded, length, &index, &mime);
    if (r != MAILIMF_NO_ERROR || !mime) {
        warn(&b, "the MIME structure could not be parsed (libetpan error %d): the body is kept as plain text", r);
        m->structure_ok = 0;
    } else {
        m->structure_ok = 1;
        walk(&b, mime, 0);   /* every part's data is copied out of `padded` */
        mailmime_free(mime);
    }
    free(padded);
    return m;
}

static void free_addresses(cemail_address *list, size_t count) {
    for (size_t i = 0; i < count; i++) {
        free(list[i].name);
        free(list[i].address);
    }
    free(list);
}

void cemail_mime_free(cemail_message *m) {
    if (!m) return;
    free(m->message_id);
    free(m->in_reply_to);
    free(m->references);
    free(m->subject);
    free_addresses(m->from, m->from_count);
    free_addresses(m->to, m->to_count);
    free_addresses(m->cc, m->cc_count);
    free_addresses(m->reply_to, m->reply_to_count);
    for (size_t i = 0; i < m->part_count; i++) {
        free(m->parts[i].type);
        free(m->parts[i].charset);
        free(m->parts[i].filename);
        free(m->parts[i].content_id);
        free(m->parts[i].data);
    }
    free(m->parts);
    free(m->raw_body);
    free(m->warnings);
    free(m);
}
