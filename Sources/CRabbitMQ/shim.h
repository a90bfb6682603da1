// System librabbitmq (librabbitmq-dev, rabbitmq-c 0.11): the blocking AMQP 0-9-1 client.
// The helpers below do what Swift cannot do comfortably with the C API: fill
// amqp_basic_properties_t with a headers table (unions, flag bits), and read the method frames
// of publisher confirms (a void pointer to a decoded method per frame type).
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

/// Publishes one persistent JSON message: delivery_mode 2, content_type application/json,
/// message_id, type, timestamp (seconds) and an `organizationId` header. Returns AMQP_STATUS_OK
/// or a negative amqp_status_enum.
static inline int cg_amqp_publish(amqp_connection_state_t conn, amqp_channel_t channel, const char *exchange,
                                  const char *routing_key, const void *body, size_t body_length,
                                  const char *message_id, const char *type, const char *organization_id,
                                  uint64_t timestamp) {
    amqp_table_entry_t header;
    header.key = amqp_cstring_bytes("organizationId");
    header.value.kind = AMQP_FIELD_KIND_UTF8;
    header.value.value.bytes = amqp_cstring_bytes(organization_id);

    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                   AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_HEADERS_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.message_id = amqp_cstring_bytes(message_id);
    props.type = amqp_cstring_bytes(type);
    props.timestamp = timestamp;
    props.headers.num_entries = 1;
    props.headers.entries = &header;

    amqp_bytes_t payload;
    payload.len = body_length;
    payload.bytes = (void *)body;
    return amqp_basic_publish(conn, channel, amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key),
                              0 /* mandatory */, 0 /* immediate */, &props, payload);
}

/// amqp_login with PLAIN credentials (amqp_login is variadic, which Swift cannot call).
static inline amqp_rpc_reply_t cg_amqp_login_plain(amqp_connection_state_t conn, const char *vhost, int heartbeat_seconds,
                                                   const char *user, const char *password) {
    return amqp_login(conn, vhost, AMQP_DEFAULT_MAX_CHANNELS, AMQP_DEFAULT_FRAME_SIZE, heartbeat_seconds,
                      AMQP_SASL_METHOD_PLAIN, user, password);
}

/// What `cg_amqp_wait_confirm` saw.
enum cg_amqp_confirm_kind {
    CG_AMQP_TIMEOUT = 0,
    CG_AMQP_ACK = 1,
    CG_AMQP_NACK = 2,
    CG_AMQP_RETURN = 3,
    CG_AMQP_OTHER = 4,
    CG_AMQP_CLOSED = -1,
    CG_AMQP_ERROR = -2,
};

/// Waits up to `timeout_ms` (0: only what is already buffered) for the next frame and reports a
/// publisher confirm (delivery tag, multiple), a returned message (its content frames are read
/// and dropped), a channel/connection close, or an error (`status` gets the amqp status).
static inline int cg_amqp_wait_confirm(amqp_connection_state_t conn, int timeout_ms, uint64_t *delivery_tag,
                                       int *multiple, int *status) {
    struct timeval timeout;
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_usec = (timeout_ms % 1000) * 1000;
    amqp_frame_t frame;
    amqp_maybe_release_buffers(conn);
    int result = amqp_simple_wait_frame_noblock(conn, &frame, &timeout);
    *status = result;
    if (result == AMQP_STATUS_TIMEOUT) return CG_AMQP_TIMEOUT;
    if (result != AMQP_STATUS_OK) return CG_AMQP_ERROR;
    if (frame.frame_type != AMQP_FRAME_METHOD) return CG_AMQP_OTHER;
    switch (frame.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *ack = (amqp_basic_ack_t *)frame.payload.method.decoded;
        *delivery_tag = ack->delivery_tag;
        *multiple = ack->multiple;
        return CG_AMQP_ACK;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *nack = (amqp_basic_nack_t *)frame.payload.method.decoded;
        *delivery_tag = nack->delivery_tag;
        *multiple = nack->multiple;
        return CG_AMQP_NACK;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_message_t message;
        amqp_read_message(conn, frame.channel, &message, 0);
        amqp_destroy_message(&message);
        return CG_AMQP_RETURN;
    }
    case AMQP_CHANNEL_CLOSE_METHOD:
    case AMQP_CONNECTION_CLOSE_METHOD:
        return CG_AMQP_CLOSED;
    default:
        return CG_AMQP_OTHER;
    }
}

/// A readable sentence for an RPC reply that was not normal (server close codes and text,
/// library errors).
static inline void cg_amqp_describe_reply(amqp_rpc_reply_t reply, char *buffer, size_t size) {
    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buffer, size, "ok");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buffer, size, "no reply from the server");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buffer, size, "%s", amqp_error_string2(reply.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *close = (amqp_connection_close_t *)reply.reply.decoded;
            snprintf(buffer, size, "server closed the connection: %u %.*s", close->reply_code,
                     (int)close->reply_text.len, (const char *)close->reply_text.bytes);
        } else if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *close = (amqp_channel_close_t *)reply.reply.decoded;
            snprintf(buffer, size, "server closed the channel: %u %.*s", close->reply_code,
                     (int)close->reply_text.len, (const char *)close->reply_text.bytes);
        } else {
            snprintf(buffer, size, "server error (method 0x%08X)", reply.reply.id);
        }
        break;
    default:
        snprintf(buffer, size, "unknown reply type %d", (int)reply.reply_type);
    }
}
