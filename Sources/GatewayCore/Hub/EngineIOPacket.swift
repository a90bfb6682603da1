import NIOCore

/// Engine.IO protocol v4 packets (text form). Pure: no I/O.
/// https://socket.io/docs/v4/engine-io-protocol/
enum EngineIOPacket: Equatable, Sendable {
    case open(String)
    case close
    case ping(String)
    case pong(String)
    case message(String)
    case upgrade
    case noop

    /// Separates packets in an HTTP long-polling payload.
    static let separator: Character = "\u{1E}"

    struct Malformed: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    init(parsing text: Substring) throws {
        guard let first = text.first else { throw Malformed(description: "empty Engine.IO packet") }
        let data = String(text.dropFirst())
        switch first {
        case "0": self = .open(data)
        case "1": self = .close
        case "2": self = .ping(data)
        case "3": self = .pong(data)
        case "4": self = .message(data)
        case "5": self = .upgrade
        case "6": self = .noop
        case "b": throw Malformed(description: "binary payloads are not supported")
        default: throw Malformed(description: "unknown Engine.IO packet type \"\(first)\"")
        }
    }

    var encoded: String {
        switch self {
        case .open(let data): "0" + data
        case .close: "1"
        case .ping(let data): "2" + data
        case .pong(let data): "3" + data
        case .message(let data): "4" + data
        case .upgrade: "5"
        case .noop: "6"
        }
    }

    /// Packets of a polling payload (`packet\u{1E}packet…`).
    static func parsePayload(_ payload: String) throws -> [EngineIOPacket] {
        try payload.split(separator: separator, omittingEmptySubsequences: false).map { try EngineIOPacket(parsing: $0) }
    }

    static func encodePayload(_ packets: [String]) -> String {
        packets.joined(separator: String(separator))
    }

    /// A polling payload from already-encoded packets.
    static func encodePayload(_ packets: [HubFrame]) -> ByteBuffer {
        var body = ByteBuffer()
        body.reserveCapacity(packets.reduce(packets.count) { $0 + $1.payloadCount })
        for (index, packet) in packets.enumerated() {
            if index > 0 { body.writeInteger(UInt8(0x1E)) }
            var payload = packet.payload
            body.writeBuffer(&payload)
        }
        return body
    }
}
