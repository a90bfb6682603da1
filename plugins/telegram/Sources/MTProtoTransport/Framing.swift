import MTProtoCrypto

/// One parsed frame: the event it carries and how many buffered bytes it used.
struct ParsedFrame {
    var event: TransportEvent
    var consumed: Int
}

/// Framing for one connection direction pair: wraps outgoing payloads and cuts incoming
/// bytes into frames for the chosen transport kind, from the point of view of `role`
/// (which decides what the peer's frames look like: quick acks and transport errors
/// only ever come from the server). The full transport's sequence numbers are the only
/// state. Obfuscation happens outside, on whole byte streams.
struct Framing {
    let kind: TransportKind
    let role: TransportRole
    let maxFrameLength: Int
    private var full = FullFraming()

    init(kind: TransportKind, role: TransportRole, maxFrameLength: Int) {
        self.kind = kind
        self.role = role
        self.maxFrameLength = maxFrameLength
    }

    /// Wraps `payload`. `quickAck` asks the server for a quick ack (client side; the
    /// full transport has no way to ask and ignores it).
    mutating func frame(_ payload: [UInt8], quickAck: Bool) -> [UInt8] {
        switch kind {
        case .abridged: AbridgedFraming.frame(payload, quickAck: quickAck)
        case .intermediate: IntermediateFraming.frame(payload, padding: [], quickAck: quickAck)
        case .paddedIntermediate: IntermediateFraming.frame(payload, padding: Self.randomPadding(upTo: 15), quickAck: quickAck)
        case .full: full.frame(payload)
        }
    }

    /// The server's quick-ack frame for `token`; nil for the full transport, which has none.
    func quickAckFrame(_ token: UInt32) -> [UInt8]? {
        let token = token | 0x8000_0000
        switch kind {
        case .abridged: return AbridgedFraming.quickAckFrame(token)
        case .intermediate: return LittleEndian.bytes(token)
        case .paddedIntermediate:
            return IntermediateFraming.frame([0xff, 0xff, 0xff, 0xff] + LittleEndian.bytes(token),
                                             padding: Self.randomPadding(upTo: 8), quickAck: false)
        case .full: return nil
        }
    }

    /// The next complete frame at `buffer[start...]`, or nil if more bytes are needed.
    mutating func parse(_ buffer: [UInt8], from start: Int) throws -> ParsedFrame? {
        let frame: ParsedFrame?
        switch kind {
        case .abridged:
            frame = try AbridgedFraming.parse(buffer, from: start, role: role, maxFrameLength: maxFrameLength)
        case .intermediate, .paddedIntermediate:
            frame = try IntermediateFraming.parse(buffer, from: start, padded: kind == .paddedIntermediate,
                                                  role: role, maxFrameLength: maxFrameLength)
        case .full:
            frame = try full.parse(buffer, from: start, maxFrameLength: maxFrameLength)
        }
        if role == .client, case .packet(let payload)? = frame?.event, let code = transportErrorCode(payload) {
            throw TransportError.serverError(code: code)
        }
        return frame
    }

    /// A transport error is a payload of one negative 32-bit integer (with the padded
    /// transport, followed by up to 15 padding bytes). No MTProto message is that short:
    /// the smallest is 24 bytes.
    private func transportErrorCode(_ payload: [UInt8]) -> Int32? {
        let maximumLength = kind == .paddedIntermediate ? 4 + 15 : 4
        guard payload.count >= 4, payload.count <= maximumLength else { return nil }
        let value = Int32(bitPattern: LittleEndian.uint32(payload, at: 0))
        return value < 0 ? value : nil
    }

    static func randomPadding(upTo maximum: Int) -> [UInt8] {
        SecureRandom.bytes(Int(SecureRandom.bytes(1)[0]) % (maximum + 1))
    }
}
