import CRabbitMQ
import Foundation

/// One AMQP 0-9-1 connection through librabbitmq (blocking calls): login, a channel in confirm
/// mode, the durable topic exchange declared, persistent publishes and the broker's confirms.
/// Not thread-safe: the publisher uses it from its own serial queue only, never from Swift's
/// cooperative pool or a NIO event loop.
final class RabbitMQConnection {
    private let state: amqp_connection_state_t
    private let exchange: String
    private static let channel: amqp_channel_t = 1
    /// Delivery tags of this channel: the broker numbers publishes from 1 after confirm.select.
    private var lastTag: UInt64 = 0
    private var ackedThrough: UInt64 = 0
    private var ackedAhead = Set<UInt64>()
    private var closed = false

    /// Heartbeats the broker and we exchange; the publisher polls the connection more often than
    /// this while idle, which lets librabbitmq answer them.
    static let heartbeatSeconds: Int32 = 30

    init(url: RabbitMQURL, exchange: String, timeout: Duration) throws(RabbitMQError) {
        guard let state = amqp_new_connection() else { throw .connect("librabbitmq: out of memory") }
        guard let socket = amqp_tcp_socket_new(state) else {
            amqp_destroy_connection(state)
            throw .connect("librabbitmq: could not create a TCP socket")
        }
        self.state = state
        self.exchange = exchange
        let seconds = Int(timeout.components.seconds)
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        let opened = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &limit)
        guard opened == AMQP_STATUS_OK.rawValue else {
            amqp_destroy_connection(state)
            closed = true
            throw .connect("cannot connect to \(url.host):\(url.port): \(Self.statusText(opened))")
        }
        amqp_set_handshake_timeout(state, &limit)
        amqp_set_rpc_timeout(state, &limit)
        do throws(RabbitMQError) {
            try check(cg_amqp_login_plain(state, url.vhost, Self.heartbeatSeconds, url.user, url.password),
                      "login to \(url) failed")
            amqp_channel_open(state, Self.channel)
            try check(amqp_get_rpc_reply(state), "opening a channel failed")
            exchange.withCString { name in
                "topic".withCString { kind in
                    _ = amqp_exchange_declare(
                        state, Self.channel, amqp_cstring_bytes(name), amqp_cstring_bytes(kind), 0, 1, 0, 0, amqp_empty_table)
                }
            }
            try check(amqp_get_rpc_reply(state), "declaring the topic exchange \"\(exchange)\" failed")
            amqp_confirm_select(state, Self.channel)
            try check(amqp_get_rpc_reply(state), "enabling publisher confirms failed")
        } catch {
            amqp_destroy_connection(state)
            closed = true
            throw error
        }
    }

    deinit { close() }

    /// Publishes the rows in order as persistent messages; returns the delivery tag of the last.
    func publish(_ rows: [OutboxRow]) throws(RabbitMQError) -> UInt64 {
        for row in rows {
            let status = row.payload.withUnsafeBytes { body in
                cg_amqp_publish(
                    state, Self.channel, exchange, row.routingKey, body.baseAddress, body.count, row.eventId, row.eventType,
                    row.organizationId, UInt64(max(0, row.createdAt)))
            }
            guard status == AMQP_STATUS_OK.rawValue else { throw .connection("publish failed: \(Self.statusText(status))") }
            lastTag += 1
        }
        return lastTag
    }

    /// Waits until the broker confirmed every delivery tag up to `tag`; a nack, a closed
    /// channel or connection, or no confirm within `timeout` throws.
    func waitForConfirms(through tag: UInt64, timeout: Duration) throws(RabbitMQError) {
        let deadline = ContinuousClock.now + timeout
        while ackedThrough < tag {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else {
                throw .confirmTimeout("no publisher confirm within \(timeout) (confirmed \(ackedThrough) of \(tag))")
            }
            let milliseconds = Int32(clamping: max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            try receive(timeoutMilliseconds: milliseconds)
        }
    }

    /// Reads what the broker sent meanwhile without waiting (answers heartbeats, notices a
    /// closed connection).
    func poll() throws(RabbitMQError) {
        try receive(timeoutMilliseconds: 0)
    }

    private func receive(timeoutMilliseconds: Int32) throws(RabbitMQError) {
        var tag: UInt64 = 0
        var multiple: Int32 = 0
        var status: Int32 = 0
        switch cg_amqp_wait_confirm(state, timeoutMilliseconds, &tag, &multiple, &status) {
        case CG_AMQP_ACK.rawValue:
            if multiple != 0 {
                ackedThrough = max(ackedThrough, tag)
            } else if tag == ackedThrough + 1 {
                ackedThrough = tag
            } else if tag > ackedThrough {
                ackedAhead.insert(tag)
            }
            while ackedAhead.remove(ackedThrough + 1) != nil { ackedThrough += 1 }
            ackedAhead = ackedAhead.filter { $0 > ackedThrough }
        case CG_AMQP_NACK.rawValue:
            throw .nacked(tag)
        case CG_AMQP_CLOSED.rawValue:
            throw .connection("the broker closed the channel or connection")
        case CG_AMQP_ERROR.rawValue:
            throw .connection("connection lost: \(Self.statusText(status))")
        default:
            break  // timeout, a returned message (not mandatory: not expected), other frames
        }
    }

    /// Closes politely when the connection still works; always frees it.
    func close() {
        guard !closed else { return }
        closed = true
        _ = amqp_channel_close(state, Self.channel, Int32(AMQP_REPLY_SUCCESS))
        _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        amqp_destroy_connection(state)
    }

    /// Frees the connection without talking to the broker (it is gone or broken).
    func abandon() {
        guard !closed else { return }
        closed = true
        amqp_destroy_connection(state)
    }

    private func check(_ reply: amqp_rpc_reply_t, _ what: String) throws(RabbitMQError) {
        guard reply.reply_type != AMQP_RESPONSE_NORMAL else { return }
        var buffer = [CChar](repeating: 0, count: 512)
        cg_amqp_describe_reply(reply, &buffer, buffer.count)
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw .connect("\(what): \(text)")
    }

    private static func statusText(_ status: Int32) -> String {
        String(cString: amqp_error_string2(status))
    }
}
