import MTProtoTransport

/// Every transport Telegram defines (obfuscated full does not exist).
let supportedConfigurations: [TransportConfiguration] = TransportKind.allCases.flatMap { kind in
    [false, true].map { TransportConfiguration(kind: kind, obfuscated: $0) }
}.filter(\.isSupported)

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8]()
    bytes.reserveCapacity(count + 8)
    while bytes.count < count {
        withUnsafeBytes(of: generator.next() as UInt64) { bytes += $0 }
    }
    return Array(bytes.prefix(count))
}

/// A payload of `count` bytes (a multiple of 4) whose first word is non-negative, so it
/// can never read as a transport error.
func randomPayload(_ count: Int) -> [UInt8] {
    var payload = randomBytes(count)
    payload[3] &= 0x7f
    return payload
}

/// How a test splits a byte stream before handing it to `decode`.
enum Chunking: CustomStringConvertible {
    case whole
    case singleBytes
    case random(maximum: Int)

    func split(_ bytes: [UInt8]) -> [[UInt8]] {
        switch self {
        case .whole: return [bytes]
        case .singleBytes: return bytes.map { [$0] }
        case .random(let maximum):
            var chunks: [[UInt8]] = []
            var offset = 0
            while offset < bytes.count {
                let size = min(Int.random(in: 1...maximum), bytes.count - offset)
                chunks.append(Array(bytes[offset..<(offset + size)]))
                offset += size
            }
            return chunks
        }
    }

    var description: String {
        switch self {
        case .whole: "whole"
        case .singleBytes: "single bytes"
        case .random(let maximum): "random chunks up to \(maximum)"
        }
    }
}

/// Feeds `bytes` to `codec` in chunks and collects every event.
func decodeAll(_ codec: TransportCodec, _ bytes: [UInt8], chunking: Chunking = .whole) throws -> [TransportEvent] {
    var events: [TransportEvent] = []
    for chunk in chunking.split(bytes) {
        events += try codec.decode(chunk)
    }
    return events
}

/// The packets' payloads, with padded-intermediate padding (0-15 bytes, delivered
/// along) cut to the sent length after checking its size.
func payloads(_ events: [TransportEvent], sentLengths: [Int], padded: Bool) -> [[UInt8]]? {
    guard events.count == sentLengths.count else { return nil }
    var result: [[UInt8]] = []
    for (event, length) in zip(events, sentLengths) {
        guard case .packet(let bytes) = event else { return nil }
        if padded {
            guard bytes.count >= length, bytes.count - length <= 15 else { return nil }
            result.append(Array(bytes.prefix(length)))
        } else {
            guard bytes.count == length else { return nil }
            result.append(bytes)
        }
    }
    return result
}

/// A connected client/server codec pair: the client's first payload has been decoded by
/// the server (which thereby detected the transport).
func connectedPair(_ configuration: TransportConfiguration) throws -> (client: TransportCodec, server: TransportCodec) {
    let client = TransportCodec(configuration: configuration, role: .client)
    let server = TransportCodec.server()
    let hello = randomPayload(40)
    let events = try server.decode(client.encode(hello))
    guard payloads(events, sentLengths: [40], padded: configuration.kind == .paddedIntermediate) == [hello] else {
        throw TestFailure.handshake
    }
    return (client, server)
}

enum TestFailure: Error { case handshake }

func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }.map { $0.hexDigitValue! }
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0] << 4 | digits[$0 + 1]) }
}
