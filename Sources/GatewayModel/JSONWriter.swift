import Foundation

/// Writes JSON bytes directly, without the Encoder machinery, for the hot paths: plugin events
/// (ChannelKit), API listings and hub events. Output is plain RFC 8259 JSON; the types' Codable
/// conformances stay the reference (tests compare both).
public struct JSONWriter: Sendable {
    private var needsComma = false
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func array<T>(_ items: [T], _ element: (inout JSONWriter, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        // An index loop: called across modules this is not specialized, and enumerated() would
        // look up its iterator's and tuple's generic metadata at run time on every call.
        for index in items.indices {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            needsComma = false
            element(&self, items[index])
        }
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member name written in code: copied as is, so it must not need escaping.
    public mutating func key(_ name: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A member name from data (escaped).
    public mutating func dynamicKey(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A string field; nil values are left out.
    public mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
        needsComma = true
    }

    public mutating func number(_ value: Double) {
        if value.isFinite {
            if value == value.rounded(), abs(value) < 1e15 {
                bytes.append(contentsOf: String(Int64(value)).utf8)
            } else {
                bytes.append(contentsOf: String(value).utf8)
            }
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let amount): number(amount)
        case .string(let text): string(text)
        case .array(let items): array(items) { w, item in w.value(item) }
        case .object(let members):
            object { w in
                for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                    w.dynamicKey(name)
                    w.value(member)
                }
            }
        }
        needsComma = true
    }

    /// A JSON string literal (RFC 8259 §7): quote, backslash and control characters escaped.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        // Native strings are contiguous UTF-8: scan and copy them as one buffer (most need no
        // escaping); a bridged string takes the byte-by-byte path.
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            var clean = true
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                clean = false
                break
            }
            if clean { bytes.append(contentsOf: utf8) } else { escape(utf8) }
            return true
        }
        if copied == nil { escape(text.utf8) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func escape<Bytes: Sequence<UInt8>>(_ utf8: Bytes) {
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
    }

    /// A JSON string from UTF-8 bytes (e.g. a database column), exactly as `string(String(decoding:))`
    /// would write it: ASCII is copied or escaped here; anything else goes through String, which
    /// repairs invalid sequences.
    public mutating func string(utf8 text: UnsafeBufferPointer<UInt8>) {
        var ascii = true
        for byte in text where byte >= 0x80 {
            ascii = false
            break
        }
        guard ascii else { return string(String(decoding: text, as: UTF8.self)) }
        bytes.append(UInt8(ascii: "\""))
        var clean = true
        for byte in text where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            clean = false
            break
        }
        if clean { bytes.append(contentsOf: text) } else { escape(text) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A string field from UTF-8 bytes; nil is left out.
    public mutating func field(_ name: StaticString, utf8 value: UnsafeBufferPointer<UInt8>?) {
        guard let value else { return }
        key(name)
        string(utf8: value)
    }

    public mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    /// Optional fields (here and below) are left out when nil, as Codable's encodeIfPresent does.
    public mutating func field(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    /// An ISO-8601 date with milliseconds, the API's date form.
    public mutating func field(_ name: StaticString, _ date: Date?) {
        guard let date else { return }
        key(name)
        bytes.append(UInt8(ascii: "\""))
        ISO8601.write(date, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A UUID in its lowercase canonical form.
    public mutating func field(_ name: StaticString, _ id: UUID) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 36))
        bytes.withUnsafeMutableBufferPointer { buffer in
            id.writeHex(into: UnsafeMutableBufferPointer(rebasing: buffer[start..<start + 36]))
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// `null` for a missing value (for fields the API always includes).
    public mutating func null(_ name: StaticString) {
        key(name)
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// Splices already-encoded JSON in as the next value.
    public mutating func raw(_ json: [UInt8]) {
        bytes.append(contentsOf: json)
        needsComma = true
    }
}
