import Foundation

/// Types of system events, named as the original services named them.
public enum EventType: String, Codable, Sendable, CaseIterable {
    case messageReceived = "MESSAGE_RECEIVED"
    case messageSent = "MESSAGE_SENT"
    case messageStatus = "MESSAGE_STATUS"
    case accountConnected = "BD_ACCOUNT_CONNECTED"
    case accountDisconnected = "BD_ACCOUNT_DISCONNECTED"
    case accountStatus = "BD_ACCOUNT_STATUS"
}

/// Payload of a system event.
public enum EventData: Sendable, Hashable {
    case message(Message)
    case messageStatus(MessageStatusChange)
    case account(Account)
}

/// A message's new status, with enough to find it and to route it.
public struct MessageStatusChange: Sendable, Hashable {
    public var messageId: UUID
    public var channel: String
    public var accountId: String
    public var chatId: String
    public var externalId: String?
    public var status: MessageStatus
    public var error: String?

    public init(
        messageId: UUID, channel: String, accountId: String, chatId: String, externalId: String?,
        status: MessageStatus, error: String?
    ) {
        self.messageId = messageId
        self.channel = channel
        self.accountId = accountId
        self.chatId = chatId
        self.externalId = externalId
        self.status = status
        self.error = error
    }
}

extension MessageStatusChange: Codable {
    private enum Field: String, CodingKey { case messageId, channel, bdAccountId, chatId, channelId, externalId, status, error }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Field.self)
        try container.encode(messageId.lowercasedString, forKey: .messageId)
        try container.encode(channel, forKey: .channel)
        try container.encode(accountId, forKey: .bdAccountId)
        try container.encode(chatId, forKey: .chatId)
        try container.encode(chatId, forKey: .channelId)
        try container.encodeIfPresent(externalId, forKey: .externalId)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(error, forKey: .error)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Field.self)
        let id = try container.decode(String.self, forKey: .messageId)
        guard let messageId = UUID(text: id) else {
            throw DecodingError.dataCorruptedError(forKey: .messageId, in: container, debugDescription: "not a UUID: \(id)")
        }
        self.init(
            messageId: messageId, channel: try container.decode(String.self, forKey: .channel),
            accountId: try container.decode(String.self, forKey: .bdAccountId), chatId: try container.decode(String.self, forKey: .chatId),
            externalId: try container.decodeIfPresent(String.self, forKey: .externalId),
            status: try container.decode(MessageStatus.self, forKey: .status), error: try container.decodeIfPresent(String.self, forKey: .error))
    }
}

/// A system event: `{id, type, organizationId, data, timestamp}` as the original services sent it.
public struct GatewayEvent: Sendable, Hashable, Codable {
    public var id: UUID
    public var type: EventType
    public var organizationId: String
    public var data: EventData
    public var timestamp: Date

    public init(id: UUID = UUID(), type: EventType, organizationId: String, data: EventData, timestamp: Date = Date()) {
        self.id = id
        self.type = type
        self.organizationId = organizationId
        self.data = data
        self.timestamp = timestamp
    }

    private enum CodingKeys: String, CodingKey { case id, type, organizationId, data, timestamp }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let idText = try container.decode(String.self, forKey: .id)
        guard let id = UUID(text: idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: container, debugDescription: "not a UUID: \(idText)")
        }
        self.id = id
        type = try container.decode(EventType.self, forKey: .type)
        organizationId = try container.decode(String.self, forKey: .organizationId)
        timestamp = try container.decode(Date.self, forKey: .timestamp)
        switch type {
        case .messageReceived, .messageSent:
            data = .message(try container.decode(Message.self, forKey: .data))
        case .messageStatus:
            data = .messageStatus(try container.decode(MessageStatusChange.self, forKey: .data))
        case .accountConnected, .accountDisconnected, .accountStatus:
            data = .account(try container.decode(Account.self, forKey: .data))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.lowercasedString, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(organizationId, forKey: .organizationId)
        try container.encode(timestamp, forKey: .timestamp)
        switch data {
        case .message(let message): try container.encode(message, forKey: .data)
        case .messageStatus(let change): try container.encode(change, forKey: .data)
        case .account(let account): try container.encode(account, forKey: .data)
        }
    }

    /// Routing facts of this event: where it came from.
    public var channel: String {
        switch data {
        case .message(let message): message.channel
        case .messageStatus(let change): change.channel
        case .account(let account): account.platform
        }
    }

    public var accountId: String {
        switch data {
        case .message(let message): message.accountId
        case .messageStatus(let change): change.accountId
        case .account(let account): account.id
        }
    }

    public var chatId: String? {
        switch data {
        case .message(let message): message.chatId
        case .messageStatus(let change): change.chatId
        case .account: nil
        }
    }
}

extension JSONEncoder {
    /// The gateway's JSON form: ISO-8601 dates with milliseconds, as the Node services sent.
    public static func gateway() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(ISO8601.format(date))
        }
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    public static func gateway() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an ISO-8601 date, got \"\(text)\"")
            }
            return date
        }
        return decoder
    }
}

/// ISO-8601 with milliseconds (`2024-01-02T03:04:05.678Z`), the form JavaScript's Date emits.
public enum ISO8601 {
    private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let withoutFraction = Date.ISO8601FormatStyle()

    /// Formats without Foundation or libc: every API answer formats two dates per message, and
    /// Foundation's format styles cost ~0.3 µs each (gmtime_r plus String padding about as much).
    public static func format(_ date: Date) -> String {
        guard let text = fixedText(date) else { return withFraction.format(date) }
        return withUnsafeBytes(of: text) { String(decoding: $0, as: UTF8.self) }
    }

    /// The 24 bytes of `format(date)`, rounded to the millisecond; nil for years outside
    /// 0000...9999 and non-finite dates (Foundation's formatter writes those).
    public static func fixedText(_ date: Date) -> (UInt64, UInt64, UInt64)? {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 253_402_300_800 else { return nil }
        let milliseconds = Int64((seconds * 1000).rounded())
        let (wholeSeconds, millis) = floorDivision(milliseconds, 1000)
        let (days, secondOfDay) = floorDivision(wholeSeconds, 86_400)
        // Days since 1970-01-01 → proleptic Gregorian date (H. Hinnant's civil_from_days).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (0...9999).contains(year) else { return nil }
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { out in
            pair(year / 100, at: 0, in: out); pair(year % 100, at: 2, in: out); out[4] = UInt8(ascii: "-")
            pair(month, at: 5, in: out); out[7] = UInt8(ascii: "-"); pair(day, at: 8, in: out); out[10] = UInt8(ascii: "T")
            pair(secondOfDay / 3600, at: 11, in: out); out[13] = UInt8(ascii: ":")
            pair(secondOfDay / 60 % 60, at: 14, in: out); out[16] = UInt8(ascii: ":")
            pair(secondOfDay % 60, at: 17, in: out); out[19] = UInt8(ascii: ".")
            out[20] = UInt8(ascii: "0") + UInt8(millis / 100); pair(millis % 100, at: 21, in: out); out[23] = UInt8(ascii: "Z")
        }
        return text
    }

    /// Two decimal digits of `value` (0...99). Inlined, as is `floorDivision`: their divisions
    /// are by constants then, a multiply instead of a divide (an API page formats 150 dates).
    @inline(__always) private static func pair(_ value: Int64, at index: Int, in out: UnsafeMutableRawBufferPointer) {
        out[index] = UInt8(ascii: "0") + UInt8(value / 10)
        out[index + 1] = UInt8(ascii: "0") + UInt8(value % 10)
    }

    @inline(__always) private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
        return (quotient, value - quotient * divisor)
    }

    /// Parses a date-time with a time zone (`Z` or ±hh:mm), or a plain date (midnight UTC).
    /// Strict: out-of-range fields (hour 25, month 13) are refused rather than rolled over.
    public static func parse(_ text: String) -> Date? {
        let fields = text.split(whereSeparator: { "-T:.Z+".contains($0) }).map { Int($0) }
        guard text.count >= 10, fields.count >= 3, !fields.contains(nil) else { return nil }
        let numbers = fields.map { $0! }
        guard (1...12).contains(numbers[1]), (1...31).contains(numbers[2]) else { return nil }
        if text.count == 10 {
            return try? Date(text + "T00:00:00Z", strategy: .iso8601)
        }
        guard numbers.count >= 5, (0...23).contains(numbers[3]), (0...59).contains(numbers[4]),
            numbers.count < 6 || (0...59).contains(numbers[5])
        else { return nil }
        return (try? withFraction.parse(text)) ?? (try? withoutFraction.parse(text))
    }
}
