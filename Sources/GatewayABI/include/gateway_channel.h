/*
 * gateway_channel.h — the ChannelGateway channel plugin ABI, version 1.0.
 *
 * A channel plugin is a shared library exporting ONE symbol:
 *
 *     const gw_channel *gw_channel_entry(void);
 *
 * returning a pointer to a static, read-only descriptor. Everything else is reached through
 * the descriptor (plugin -> host) and the host table passed to open() (host -> plugin).
 *
 * Rules (see docs/PLUGIN_ABI.md):
 *  - Versioning: the host refuses a plugin whose abi_major differs from GW_ABI_MAJOR or whose
 *    struct_size is smaller than the host needs. Minor versions only append members at the end
 *    of a struct; read a member only if struct_size covers it (GW_HAS_MEMBER).
 *  - Memory: payloads cross as UTF-8 JSON (pointer, length) views, BORROWED for the duration of
 *    the call only. The receiver copies what it keeps. No allocation crosses the boundary, so
 *    neither side ever frees the other's memory. Strings are not NUL-terminated unless stated.
 *  - invoke() is asynchronous: it returns at once; the plugin calls `reply` exactly once, later
 *    or before invoke returns, from any thread.
 *  - Every host function is thread-safe and never blocks on the network.
 *  - close() returns only after every outstanding reply has been delivered; after it returns
 *    the plugin makes no more host calls.
 */
#ifndef GATEWAY_CHANNEL_H
#define GATEWAY_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GW_ABI_MAJOR 1
#define GW_ABI_MINOR 0

/* Name of the single exported entry symbol. */
#define GW_CHANNEL_ENTRY_SYMBOL "gw_channel_entry"

/* True when a struct whose first member is `size_t struct_size` is large enough to hold MEMBER. */
#define GW_HAS_MEMBER(ptr, type, member) \
    ((ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* Log levels for gw_host.log. */
typedef enum gw_log_level {
    GW_LOG_TRACE = 0,
    GW_LOG_DEBUG = 1,
    GW_LOG_INFO = 2,
    GW_LOG_WARNING = 3,
    GW_LOG_ERROR = 4
} gw_log_level;

/* Result codes of host and plugin functions that return int. */
#define GW_OK 0
#define GW_NOT_FOUND 1   /* state_get: no value under that key */
#define GW_ERROR (-1)    /* anything else; details were logged */

/* Receives a borrowed value from state_get; copy it before returning. */
typedef void (*gw_value_sink)(void *sink_ctx, const char *value, size_t value_len);

/*
 * Host table: what the host offers a plugin. Passed to open(), valid until close() returns.
 * New members are only appended; check struct_size (GW_HAS_MEMBER) before using a newer one.
 */
typedef struct gw_host {
    size_t struct_size;          /* sizeof(gw_host) of the host that filled it */
    uint32_t abi_major;
    uint32_t abi_minor;
    void *host_ctx;              /* opaque, pass back as the first argument */

    /* Emit one event (a JSON object, see docs/PLUGIN_ABI.md "Events"). Never blocks on I/O.
       Returns GW_OK when the host accepted the event, GW_ERROR when it was malformed. */
    int (*emit)(void *host_ctx, const char *event_json, size_t event_len);

    /* Log one line through the gateway's logger, tagged with the plugin's name. */
    void (*log)(void *host_ctx, gw_log_level level, const char *message, size_t message_len);

    /* Durable per-plugin key/value state, private to this plugin, kept in the gateway's store.
       Keys are UTF-8 strings (≤ 1024 bytes), values are arbitrary bytes. */
    int (*state_get)(void *host_ctx, const char *key, size_t key_len,
                     gw_value_sink sink, void *sink_ctx);     /* GW_OK, GW_NOT_FOUND, GW_ERROR */
    int (*state_put)(void *host_ctx, const char *key, size_t key_len,
                     const char *value, size_t value_len);    /* GW_OK, GW_ERROR; durable on return */
    int (*state_delete)(void *host_ctx, const char *key, size_t key_len); /* GW_OK, GW_ERROR */
} gw_host;

/* Reply status for gw_reply_fn. */
typedef enum gw_reply_status {
    GW_REPLY_OK = 0,     /* payload: the result JSON */
    GW_REPLY_ERROR = 1   /* payload: {"code": "...", "message": "...", "retryAfter"?: seconds} */
} gw_reply_status;

/* Completion of one invoke(); the payload is borrowed for the duration of the call. */
typedef void (*gw_reply_fn)(void *reply_ctx, gw_reply_status status,
                            const char *payload_json, size_t payload_len);

/* The plugin's descriptor, returned by gw_channel_entry(). Static and read-only. */
typedef struct gw_channel {
    size_t struct_size;          /* sizeof(gw_channel) of the header the plugin was built with */
    uint32_t abi_major;          /* GW_ABI_MAJOR */
    uint32_t abi_minor;          /* GW_ABI_MINOR */
    const char *name;            /* NUL-terminated platform name, e.g. "telegram" */
    const char *version;         /* NUL-terminated plugin version, e.g. "1.2.0" */
    const char *capabilities;    /* NUL-terminated JSON array of supported request ops */

    /* Create an instance. config_json is the plugin's `config` mapping from gateway.yaml.
       On failure return GW_ERROR and write a NUL-terminated reason into error_buf (capacity
       error_cap, owned by the host). */
    int (*open)(const gw_host *host, const char *config_json, size_t config_len,
                void **instance, char *error_buf, size_t error_cap);

    /* Start one request ({"op": "...", ...}); answer through reply exactly once. */
    void (*invoke)(void *instance, const char *request_json, size_t request_len,
                   gw_reply_fn reply, void *reply_ctx);

    /* Stop: deliver every outstanding reply, stop threads, make no more host calls, then return. */
    void (*close)(void *instance);
} gw_channel;

/* The one exported symbol. (Not declared for Swift: a Swift plugin defines it with @_cdecl.) */
typedef const gw_channel *(*gw_channel_entry_fn)(void);
#ifndef __swift__
const gw_channel *gw_channel_entry(void);
#endif

#ifdef __cplusplus
}
#endif

#endif /* GATEWAY_CHANNEL_H */
