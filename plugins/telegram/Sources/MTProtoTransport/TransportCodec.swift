import MTProtoCrypto

/// Frames MTProto payloads for one TCP connection and cuts the received byte stream back
/// into payloads, for any of Telegram's transports, with or without obfuscation.
/// A pure state machine over bytes: the caller moves them to and from the socket.
///
/// Client: `init(configuration:role: .client)`; the first `encode` output starts with the
/// protocol tag (0xef, 0xeeeeeeee, 0xdddddddd, nothing for full) or, obfuscated, the
/// 64-byte header. Server: `TransportCodec.server()` learns the transport from the
/// client's first bytes (`configuration` stays nil until then).
///
/// Padded intermediate: the receiver cannot tell payload from padding, so `.packet`
/// carries both. The MTProto layer knows the real length from the message itself
/// (plaintext: 20 + message_data_length; encrypted: 24 + the largest multiple of 16 that
/// fits, since padding is under 16 bytes).
///
/// Not thread-safe: one codec per connection, used from one place at a time.
public final class TransportCodec: @unchecked Sendable {
    /// The transport in use; for a server codec, nil until the client's first bytes
    /// identified it (`dcId` then comes from the obfuscation header, if any).
    public private(set) var configuration: TransportConfiguration?

    private let role: TransportRole
    private let maxFrameLength: Int
    /// A server codec built with a configuration only accepts clients speaking it.
    private let expectedConfiguration: TransportConfiguration?
    private var framing: Framing?
    private var obfuscation: Obfuscation?
    /// Client: the tag or obfuscation header still to be sent ahead of the first frame.
    private var pendingPrefix: [UInt8] = []
    /// Server: raw bytes received before the transport was identified.
    private var undetectedBytes: [UInt8] = []
    private var incoming = IncomingBuffer()
    /// Once framing is lost the stream cannot recover; every later decode repeats the error.
    private var failure: TransportError?

    /// A codec for a known transport. A server-role codec made this way still reads the
    /// client's tag or obfuscation header, and rejects clients speaking anything else.
    /// Obfuscated full (`configuration.isSupported == false`) is a programming error.
    public init(configuration: TransportConfiguration, role: TransportRole) {
        precondition(configuration.isSupported, "Telegram defines no obfuscated full transport")
        self.role = role
        maxFrameLength = configuration.maxFrameLength
        switch role {
        case .client:
            self.configuration = configuration
            expectedConfiguration = nil
            framing = Framing(kind: configuration.kind, role: .client, maxFrameLength: maxFrameLength)
            if configuration.obfuscated, let tag = configuration.kind.obfuscationTag {
                do {
                    let (obfuscation, header) = try Obfuscation.client(tag: tag, dcId: configuration.dcId)
                    self.obfuscation = obfuscation
                    pendingPrefix = header
                } catch {
                    preconditionFailure("AES-256-CTR rejected fixed-size obfuscation keys: \(error)")
                }
            } else {
                pendingPrefix = configuration.kind.plainPrefix
            }
        case .server:
            self.configuration = nil
            expectedConfiguration = configuration
        }
    }

    private init(serverWithMaxFrameLength maxFrameLength: Int) {
        role = .server
        self.maxFrameLength = maxFrameLength
        expectedConfiguration = nil
    }

    /// A server codec that accepts any transport, detected from the first bytes received.
    public static func server(maxFrameLength: Int = 1 << 24) -> TransportCodec {
        TransportCodec(serverWithMaxFrameLength: maxFrameLength)
    }

    /// Frames `payload` (a non-empty multiple of 4 bytes, as every MTProto message is)
    /// and obfuscates it if configured. A server codec can only encode once the client's
    /// first bytes have been decoded.
    public func encode(_ payload: [UInt8]) -> [UInt8] {
        encode(payload, quickAck: false)
    }

    /// `encode`, optionally asking the server for a quick ack of this payload (client
    /// side; the full transport cannot ask and ignores the flag).
    public func encode(_ payload: [UInt8], quickAck: Bool) -> [UInt8] {
        precondition(!payload.isEmpty && payload.count % 4 == 0,
                     "MTProto payloads are a non-empty multiple of 4 bytes, got \(payload.count)")
        let isClient = role == .client
        return send(withFraming { $0.frame(payload, quickAck: quickAck && isClient) })
    }

    /// Server side: a transport error frame, e.g. for -404 (auth key not found) or -429
    /// (flood). `code` may be given either way round; the wire value is negative.
    public func encodeError(code: Int32) -> [UInt8] {
        let negative = code < 0 ? code : -code
        return send(withFraming { $0.frame(LittleEndian.bytes(negative), quickAck: false) })
    }

    /// Server side: a quick-ack frame for `token` (the top bit is forced on), or nil for
    /// the full transport, which has no quick acks.
    public func encodeQuickAck(_ token: UInt32) -> [UInt8]? {
        guard let frame = withFraming({ $0.quickAckFrame(token) }) else { return nil }
        return send(frame)
    }

    /// Feeds received bytes; returns the frames they complete (possibly none: partial
    /// frames are kept for the next call). A transport error from the server throws
    /// `.serverError`; a frame that would break the limit throws before its body is
    /// buffered. Events completed before an error are still returned, and the error is
    /// thrown by the next call.
    public func decode(_ bytes: [UInt8]) throws -> [TransportEvent] {
        if let failure { throw failure }
        var events: [TransportEvent] = []
        do {
            try receive(bytes)
            guard var framing else { return [] }
            defer { self.framing = framing }
            while !incoming.isEmpty, let frame = try framing.parse(incoming.bytes, from: incoming.start) {
                incoming.consume(frame.consumed)
                events.append(frame.event)
            }
        } catch let error as TransportError {
            failure = error
            if events.isEmpty { throw error }
        }
        return events
    }

    /// Deobfuscates `bytes` into the incoming buffer; on a server, first identifies the
    /// transport (holding bytes back until it can).
    private func receive(_ bytes: [UInt8]) throws {
        if framing != nil {
            var bytes = bytes
            obfuscation?.incoming.process(&bytes)
            incoming.append(bytes)
            return
        }
        undetectedBytes += bytes
        let detection: ProtocolDetection.Detected?
        do {
            detection = try ProtocolDetection.detect(undetectedBytes)
        } catch TransportError.unknownProtocolTag(let tag) where expectedConfiguration?.obfuscated == true {
            throw TransportError.malformedObfuscationHeader("header does not decrypt to a transport tag (starts \(tag))")
        }
        guard let detected = detection else { return }
        let obfuscated = detected.obfuscation != nil
        if let expected = expectedConfiguration, expected.kind != detected.kind || expected.obfuscated != obfuscated {
            let received = Array(undetectedBytes.prefix(4))
            if expected.obfuscated {
                throw TransportError.malformedObfuscationHeader("expected \(expected.kind) obfuscated, got \(detected.kind)")
            }
            throw TransportError.unknownProtocolTag(received)
        }
        configuration = TransportConfiguration(kind: detected.kind, obfuscated: obfuscated,
                                               dcId: detected.dcId, maxFrameLength: maxFrameLength)
        framing = Framing(kind: detected.kind, role: .server, maxFrameLength: maxFrameLength)
        obfuscation = detected.obfuscation
        var rest = Array(undetectedBytes[detected.prefixLength...])
        undetectedBytes = []
        obfuscation?.incoming.process(&rest)
        incoming.append(rest)
    }

    /// Runs `body` on the framing state, keeping its changes (full transport sequence numbers).
    private func withFraming<T>(_ body: (inout Framing) -> T) -> T {
        guard var current = framing else {
            preconditionFailure("a server codec cannot send before the client's first bytes were decoded")
        }
        defer { framing = current }
        return body(&current)
    }

    /// Prepends the pending tag/header (first client frame) and obfuscates.
    private func send(_ frame: [UInt8]) -> [UInt8] {
        var output = frame
        obfuscation?.outgoing.process(&output)
        if !pendingPrefix.isEmpty {
            output = pendingPrefix + output
            pendingPrefix = []
        }
        return output
    }
}
