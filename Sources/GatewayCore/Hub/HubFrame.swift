import NIOCore

/// One outgoing Engine.IO packet, encoded once: a complete server-to-client WebSocket text frame
/// (RFC 6455 header, unmasked, then the packet's UTF-8) in one buffer. A broadcast builds one and
/// writes that same buffer to every WebSocket in the room; long-polling sends the bytes after
/// the header.
struct HubFrame: Sendable, Equatable {
    /// Header + payload; shared read-only between every connection it is written to.
    let webSocketFrame: ByteBuffer
    private let headerLength: Int

    private static let allocator = ByteBufferAllocator()

    init(_ text: String) {
        self.init(utf8: text.utf8)
    }

    /// From an Engine.IO packet's UTF-8 bytes (the caller guarantees valid UTF-8).
    init(utf8 bytes: some Collection<UInt8>) {
        let length = bytes.count
        var buffer = Self.allocator.buffer(capacity: length + 10)
        buffer.writeInteger(UInt8(0x81))  // FIN + text opcode
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        headerLength = buffer.readableBytes
        buffer.writeBytes(bytes)
        webSocketFrame = buffer
    }

    /// The Engine.IO packet itself (what long-polling carries).
    var payload: ByteBuffer {
        webSocketFrame.getSlice(at: webSocketFrame.readerIndex + headerLength, length: webSocketFrame.readableBytes - headerLength)!
    }

    var payloadCount: Int { webSocketFrame.readableBytes - headerLength }

    /// The packet as text (tests, logs).
    var text: String { String(buffer: payload) }
}
