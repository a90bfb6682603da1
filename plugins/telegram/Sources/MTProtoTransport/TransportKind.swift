/// The MTProto TCP transports (https://core.telegram.org/mtproto/mtproto-transports).
public enum TransportKind: String, Sendable, CaseIterable {
    /// 1- or 4-byte length in 4-byte words; tag 0xef.
    case abridged
    /// 4-byte little-endian length; tag 0xeeeeeeee.
    case intermediate
    /// Intermediate plus 0-15 random bytes after each payload; tag 0xdddddddd.
    case paddedIntermediate
    /// Length, sequence number, payload and CRC32; no tag.
    case full

    /// What the client sends before its first frame without obfuscation.
    var plainPrefix: [UInt8] {
        switch self {
        case .abridged: [0xef]
        case .intermediate: [0xee, 0xee, 0xee, 0xee]
        case .paddedIntermediate: [0xdd, 0xdd, 0xdd, 0xdd]
        case .full: []
        }
    }

    /// The 4-byte identifier at offset 56 of an obfuscation header. The full transport
    /// has none: Telegram defines no obfuscated form of it.
    var obfuscationTag: [UInt8]? {
        switch self {
        case .abridged: [0xef, 0xef, 0xef, 0xef]
        case .intermediate, .paddedIntermediate: plainPrefix
        case .full: nil
        }
    }

    init?(obfuscationTag: ArraySlice<UInt8>) {
        guard let kind = Self.allCases.first(where: { $0.obfuscationTag.map(Array.init) == Array(obfuscationTag) }) else {
            return nil
        }
        self = kind
    }
}

/// Which end of the connection a codec sits at.
public enum TransportRole: Sendable {
    case client
    case server
}
