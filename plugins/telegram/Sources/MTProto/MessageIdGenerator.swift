/// MTProto message ids: roughly unix time × 2^32, strictly increasing per session. Client ids are
/// divisible by 4; a server's are 1 mod 4 for responses and 3 mod 4 for messages of its own.
/// https://core.telegram.org/mtproto/description#message-identifier-msg-id
public struct MessageIdGenerator: Sendable {
    public enum Kind: Sendable { case client, serverResponse, serverNotification }

    /// Seconds to add to the local clock to get the server's (learned from the handshake or a
    /// bad_msg_notification).
    public var timeOffset: Double
    private var last: Int64 = 0

    public init(timeOffset: Double = 0) { self.timeOffset = timeOffset }

    public mutating func next(_ kind: Kind = .client, now: Double) -> Int64 {
        let time = now + timeOffset
        let seconds = Int64(time)
        let fraction = Int64((time - Double(seconds)) * 4_294_967_296)
        var id = seconds << 32 | (fraction & 0xffff_fffc)
        if id <= last { id = (last & ~3) + 4 }
        switch kind {
        case .client: break
        case .serverResponse: id |= 1
        case .serverNotification: id |= 3
        }
        last = id
        return id
    }

    /// The unix time a message id encodes.
    public static func time(of messageId: Int64) -> Double { Double(messageId >> 32) + Double(messageId & 0xffff_ffff) / 4_294_967_296 }
}
