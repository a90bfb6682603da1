/* SMTP submission with libcurl: STARTTLS (required) or implicit TLS with certificate
 * verification, AUTH PLAIN/LOGIN, and a transcript of the dialogue for per-recipient replies. */
#include "cemail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
    const char *data;
    size_t length, offset;
} upload;

static size_t read_upload(char *buffer, size_t size, size_t count, void *context) {
    upload *u = context;
    size_t room = size * count, left = u->length - u->offset;
    size_t n = left < room ? left : room;
    memcpy(buffer, u->data + u->offset, n);
    u->offset += n;
    return n;
}

typedef struct {
    char *text;
    size_t length, capacity;
    int in_auth;   /* between AUTH and the server's final reply: lines carry credentials */
} transcript;

static void append(transcript *t, const char *prefix, const char *line, size_t length) {
    size_t need = t->length + strlen(prefix) + length + 2;
    if (need > 1 << 20) return; /* a transcript is for replies, not for megabytes */
    if (need > t->capacity) {
        size_t capacity = t->capacity ? t->capacity * 2 : 1024;
        while (capacity < need) capacity *= 2;
        char *grown = realloc(t->text, capacity);
        if (!grown) return;
        t->text = grown;
        t->capacity = capacity;
    }
    memcpy(t->text + t->length, prefix, strlen(prefix));
    t->length += strlen(prefix);
    memcpy(t->text + t->length, line, length);
    t->length += length;
    t->text[t->length++] = '\n';
    t->text[t->length] = 0;
}

/* Header lines only (commands and replies), never the message body or TLS data. */
static int debug_callback(CURL *handle, curl_infotype type, char *data, size_t size, void *context) {
    (void)handle;
    transcript *t = context;
    if (type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT) return 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            size_t end = i;
            if (end > start && data[end - 1] == '\r') end--;
            if (end > start) {
                const char *line = data + start;
                size_t length = end - start;
                if (type == CURLINFO_HEADER_OUT) {
                    if (length >= 4 && strncasecmp(line, "AUTH", 4) == 0) {
                        t->in_auth = 1;
                        append(t, "C: ", "AUTH …", strlen("AUTH …"));
                    } else if (!t->in_auth) {
                        append(t, "C: ", line, length);
                    }
                } else {
                    if (t->in_auth && length >= 3 && line[0] != '3') t->in_auth = 0;
                    append(t, "S: ", line, length);
                }
            }
            start = i + 1;
        }
    }
    return 0;
}

int cemail_smtp_send(const cemail_smtp_request *request, char **transcript_out, char *err, size_t err_cap) {
    pthread_once(&curl_once, curl_init);
    *transcript_out = NULL;
    err[0] = 0;
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, err_cap, "cannot create a curl handle");
        return CURLE_FAILED_INIT;
    }
    const cemail_server *server = &request->server;
    char url[600];
    const char *scheme = server->tls == CEMAIL_TLS_IMPLICIT ? "smtps" : "smtp";
    int ipv6 = strchr(server->host, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s:%u/%s", scheme, ipv6 ? "[" : "", server->host, ipv6 ? "]" : "",
             (unsigned)server->port, request->helo_domain ? request->helo_domain : "");
    char error_buffer[CURL_ERROR_SIZE] = {0};
    transcript t = {0};
    upload u = {request->data, request->length, 0};
    struct curl_slist *recipients = NULL;
    for (size_t i = 0; i < request->recipient_count; i++) recipients = curl_slist_append(recipients, request->recipients[i]);
    char from[600];
    snprintf(from, sizeof from, "<%s>", request->from ? request->from : "");
    char login_options[64] = {0};
    if (request->auth_mechanism && *request->auth_mechanism)
        snprintf(login_options, sizeof login_options, "AUTH=%s", request->auth_mechanism);

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, server->timeout_seconds > 0 ? server->timeout_seconds : 30L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, (server->timeout_seconds > 0 ? server->timeout_seconds : 30L) * 4);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, server->tls == CEMAIL_TLS_NONE ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (server->ca_file && *server->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, server->ca_file);
    if (server->username && *server->username) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, server->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, server->password ? server->password : "");
        if (login_options[0]) curl_easy_setopt(curl, CURLOPT_LOGIN_OPTIONS, login_options);
    }
    if (request->connect_only) curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    /* Go on when some recipients are refused; their replies are in the transcript. */
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &u);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)request->length);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, debug_callback);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &t);

    CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK)
        snprintf(err, err_cap, "%s", error_buffer[0] ? error_buffer : curl_easy_strerror(code));
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    *transcript_out = t.text;
    return (int)code;
}
