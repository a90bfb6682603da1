/*
 * c-echo: a complete channel plugin in plain C — the proof that the ABI is language-neutral.
 *
 * Requests (JSON, see docs/PLUGIN_ABI.md):
 *   {"op":"connect","accountId":"A",...}  -> emits account_status connected; replies {"status":"connected"}
 *   {"op":"status","accountId":"A"}        -> {"status":"connected"}
 *   {"op":"send","accountId":"A","chatId":"C","text":"T","idempotencyKey":"K",...}
 *        -> replies {"externalId":"c<n>","date":<now>} and emits the same text back as an
 *           inbound message in chat C (the counter n is kept in durable plugin state)
 *   {"op":"echo",...}                       -> replies with the request itself
 * Anything else gets an error reply. Built by SwiftPM as libCEchoChannel.so; by hand:
 *   cc -shared -fPIC -I Sources/GatewayABI/include plugins/examples/c-echo/echo.c -o libcecho.so
 */
#include "gateway_channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct echo_instance {
    gw_host host; /* copied: valid until close() */
} echo_instance;

/* Finds the string value of "key" in a flat JSON object; copies at most cap-1 bytes.
   Good enough for this example's inputs (no escapes in ids); a real plugin uses a JSON parser. */
static int json_string(const char *json, size_t len, const char *key, char *out, size_t cap) {
    char pattern[64];
    int plen = snprintf(pattern, sizeof pattern, "\"%s\"", key);
    if (plen <= 0 || (size_t)plen >= sizeof pattern) return 0;
    for (size_t i = 0; i + (size_t)plen <= len; i++) {
        if (memcmp(json + i, pattern, (size_t)plen) != 0) continue;
        size_t j = i + (size_t)plen;
        while (j < len && (json[j] == ' ' || json[j] == ':')) j++;
        if (j >= len || json[j] != '"') return 0;
        j++;
        size_t n = 0;
        while (j < len && json[j] != '"' && n + 1 < cap) {
            if (json[j] == '\\' || (unsigned char)json[j] < 0x20) return 0; /* keep the example simple */
            out[n++] = json[j++];
        }
        if (j >= len || json[j] != '"') return 0;
        out[n] = '\0';
        return 1;
    }
    return 0;
}

static void reply_text(gw_reply_fn reply, void *ctx, gw_reply_status status, const char *text) {
    reply(ctx, status, text, strlen(text));
}

static void reply_error(gw_reply_fn reply, void *ctx, const char *code, const char *message) {
    char buf[512];
    snprintf(buf, sizeof buf, "{\"code\":\"%s\",\"message\":\"%s\"}", code, message);
    reply_text(reply, ctx, GW_REPLY_ERROR, buf);
}

static void log_line(echo_instance *self, gw_log_level level, const char *text) {
    self->host.log(self->host.host_ctx, level, text, strlen(text));
}

/* state_get hands the value over through a sink; copy it into a small buffer. */
typedef struct counter_sink { char text[32]; } counter_sink;

static void copy_counter(void *ctx, const char *value, size_t len) {
    counter_sink *sink = ctx;
    size_t n = len < sizeof sink->text - 1 ? len : sizeof sink->text - 1;
    memcpy(sink->text, value, n);
    sink->text[n] = '\0';
}

static long next_message_number(echo_instance *self) {
    static const char key[] = "sent-counter";
    counter_sink sink = {{0}};
    long n = 0;
    if (self->host.state_get(self->host.host_ctx, key, sizeof key - 1, copy_counter, &sink) == GW_OK) {
        n = strtol(sink.text, NULL, 10);
    }
    n += 1;
    char value[32];
    int vlen = snprintf(value, sizeof value, "%ld", n);
    if (self->host.state_put(self->host.host_ctx, key, sizeof key - 1, value, (size_t)vlen) != GW_OK) return -1;
    return n;
}

static int echo_open(const gw_host *host, const char *config, size_t config_len, void **instance,
                     char *error_buf, size_t error_cap) {
    (void)config;
    (void)config_len;
    if (host == NULL || host->abi_major != GW_ABI_MAJOR || host->struct_size < sizeof(gw_host)) {
        snprintf(error_buf, error_cap, "host does not provide ABI %d.%d", GW_ABI_MAJOR, GW_ABI_MINOR);
        return GW_ERROR;
    }
    echo_instance *self = calloc(1, sizeof *self);
    if (self == NULL) {
        snprintf(error_buf, error_cap, "out of memory");
        return GW_ERROR;
    }
    self->host = *host;
    *instance = self;
    log_line(self, GW_LOG_INFO, "c-echo opened");
    return GW_OK;
}

static void echo_invoke(void *instance, const char *request, size_t len, gw_reply_fn reply, void *reply_ctx) {
    echo_instance *self = instance;
    char op[32], account[128], chat[128], text[1024];
    char buf[2048];

    if (!json_string(request, len, "op", op, sizeof op)) {
        reply_error(reply, reply_ctx, "bad_request", "missing op");
        return;
    }
    if (strcmp(op, "echo") == 0) {
        reply(reply_ctx, GW_REPLY_OK, request, len);
        return;
    }
    if (!json_string(request, len, "accountId", account, sizeof account)) {
        reply_error(reply, reply_ctx, "bad_request", "missing accountId");
        return;
    }
    if (strcmp(op, "connect") == 0 || strcmp(op, "status") == 0) {
        if (strcmp(op, "connect") == 0) {
            int n = snprintf(buf, sizeof buf, "{\"type\":\"account_status\",\"accountId\":\"%s\",\"status\":\"connected\"}",
                             account);
            self->host.emit(self->host.host_ctx, buf, (size_t)n);
        }
        reply_text(reply, reply_ctx, GW_REPLY_OK, "{\"status\":\"connected\"}");
        return;
    }
    if (strcmp(op, "send") == 0) {
        if (!json_string(request, len, "chatId", chat, sizeof chat) ||
            !json_string(request, len, "text", text, sizeof text)) {
            reply_error(reply, reply_ctx, "bad_request", "send needs chatId and text (plain, no escapes)");
            return;
        }
        long number = next_message_number(self);
        if (number < 0) {
            reply_error(reply, reply_ctx, "state_error", "could not persist the message counter");
            return;
        }
        double now = (double)time(NULL);
        snprintf(buf, sizeof buf, "{\"externalId\":\"c%ld\",\"date\":%.0f}", number, now);
        reply_text(reply, reply_ctx, GW_REPLY_OK, buf);
        int n = snprintf(buf, sizeof buf,
                         "{\"type\":\"message\",\"accountId\":\"%s\",\"chatId\":\"%s\",\"externalId\":\"echo-c%ld\","
                         "\"direction\":\"inbound\",\"text\":\"%s\",\"date\":%.0f}",
                         account, chat, number, text, now);
        if (n > 0 && (size_t)n < sizeof buf) self->host.emit(self->host.host_ctx, buf, (size_t)n);
        return;
    }
    reply_error(reply, reply_ctx, "unsupported_operation", "c-echo supports connect, status, send, echo");
}

static void echo_close(void *instance) {
    echo_instance *self = instance;
    log_line(self, GW_LOG_INFO, "c-echo closed");
    free(self);
}

static const gw_channel descriptor = {
    .struct_size = sizeof(gw_channel),
    .abi_major = GW_ABI_MAJOR,
    .abi_minor = GW_ABI_MINOR,
    .name = "c-echo",
    .version = "1.0.0",
    .capabilities = "[\"connect\",\"status\",\"send\",\"echo\"]",
    .open = echo_open,
    .invoke = echo_invoke,
    .close = echo_close,
};

__attribute__((visibility("default"))) const gw_channel *gw_channel_entry(void) { return &descriptor; }
