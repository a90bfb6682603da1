/// How a connection frames its bytes.
public struct TransportConfiguration: Sendable, Hashable {
    public var kind: TransportKind
    /// Wrap the stream in the AES-256-CTR obfuscation layer (64-byte random header).
    /// Defined for abridged, intermediate and padded intermediate; Telegram has no
    /// obfuscated full transport, and a codec refuses that combination.
    public var obfuscated: Bool
    /// The DC id written at offset 60 of the obfuscation header (little-endian; +10000
    /// for test DCs, negative for media DCs). Only MTProxies read it.
    public var dcId: Int16
    /// Largest payload accepted from the peer, in bytes (padding included).
    public var maxFrameLength: Int

    public init(kind: TransportKind, obfuscated: Bool, dcId: Int16 = 0, maxFrameLength: Int = 1 << 24) {
        self.kind = kind
        self.obfuscated = obfuscated
        self.dcId = dcId
        self.maxFrameLength = maxFrameLength
    }

    /// Whether Telegram defines this combination (everything but obfuscated full).
    public var isSupported: Bool { !(kind == .full && obfuscated) }
}
