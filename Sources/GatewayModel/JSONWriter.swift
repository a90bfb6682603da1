import Foundation

/// Writes JSON bytes directly, without the Encoder machinery, for the hot paths: plugin events
/// (ChannelKit), API listings and hub events. Output is plain RFC 8259 JSON; the types' Codable
/// conformances stay the reference (tests compare both).
///
/// The writer owns a plain byte buffer: a page of 50 chats is ~3,000 small appends, and an
/// Array's uniqueness and capacity checks on each were a tenth of the API's listing time.
/// Noncopyable, so the buffer has exactly one owner (hence Sendable).
public struct JSONWriter: ~Copyable, @unchecked Sendable {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    private var needsComma = false

    public init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// The JSON written so far (a copy).
    public var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// How many bytes are written so far.
    public var byteCount: Int { count }

    /// A copy of the bytes written from `start` on (e.g. one element, to keep).
    public func bytes(from start: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: base + start, count: count - start))
    }

    /// The JSON written so far, without copying it.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    @inline(__always) private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        let grown = max(capacity * 2, needed)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        moved.initialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = grown
    }

    @inline(__always) private mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) private mutating func append(_ byte: UInt8, _ next: UInt8) {
        reserve(2)
        base[count] = byte
        base[count + 1] = next
        count += 2
    }

    @inline(__always) private mutating func append(_ source: UnsafeBufferPointer<UInt8>) {
        guard let start = source.baseAddress, !source.isEmpty else { return }
        reserve(source.count)
        (base + count).initialize(from: start, count: source.count)
        count += source.count
    }

    @inline(__always) private mutating func append(_ text: StaticString) {
        append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func append(_ source: [UInt8]) {
        source.withUnsafeBufferPointer { append($0) }
    }

    private mutating func append(contentsOf text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    /// An integer in decimal, without making a String.
    private mutating func append(decimal value: Int) {
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: 20 digits and a sign fit
        withUnsafeMutableBytes(of: &digits) { out in
            var index = out.count
            repeat {
                index -= 1
                out[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                index -= 1
                out[index] = UInt8(ascii: "-")
            }
            append(UnsafeBufferPointer(start: out.baseAddress!.assumingMemoryBound(to: UInt8.self) + index, count: out.count - index))
        }
    }

    /// Opens an object whose members are written with `key` and values (see `object(_:)`).
    public mutating func openObject() {
        append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func closeObject() {
        append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        openObject()
        body(&self)
        closeObject()
    }

    public mutating func array<T>(_ items: [T], _ element: (inout JSONWriter, T) -> Void) {
        append(UInt8(ascii: "["))
        // An index loop: called across modules this is not specialized, and enumerated() would
        // look up its iterator's and tuple's generic metadata at run time on every call.
        for index in items.indices {
            if index > 0 { append(UInt8(ascii: ",")) }
            needsComma = false
            element(&self, items[index])
        }
        append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An array written element by element (rows stepped from a cursor): `openArray()`, then
    /// `nextElement()` before each element, then `closeArray()`.
    public mutating func openArray() {
        append(UInt8(ascii: "["))
    }

    public mutating func nextElement() {
        if count > 0, base[count - 1] != UInt8(ascii: "[") { append(UInt8(ascii: ",")) }
        needsComma = false
    }

    public mutating func closeArray() {
        append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member name written in code: copied as is, so it must not need escaping.
    public mutating func key(_ name: StaticString) {
        if needsComma { append(UInt8(ascii: ",")) }
        append(UInt8(ascii: "\""))
        append(name)
        append(UInt8(ascii: "\""), UInt8(ascii: ":"))
        needsComma = false
    }

    /// A member name from data (escaped).
    public mutating func dynamicKey(_ name: String) {
        if needsComma { append(UInt8(ascii: ",")) }
        string(name)
        append(UInt8(ascii: ":"))
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
                append(decimal: Int(value))
            } else {
                append(contentsOf: String(value))
            }
        } else {
            append("null")
        }
        needsComma = true
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
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
        append(UInt8(ascii: "\""))
        // Native strings are contiguous UTF-8: scan and copy them as one buffer (most need no
        // escaping); a bridged string takes the byte-by-byte path.
        let copied = text.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            var clean = true
            for byte in utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                clean = false
                break
            }
            if clean { append(utf8) } else { escape(utf8) }
            return true
        }
        if copied == nil { escape(text.utf8) }
        append(UInt8(ascii: "\""))
        needsComma = true
    }

    private mutating func escape<Bytes: Sequence<UInt8>>(_ utf8: Bytes) {
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): append(UInt8(ascii: "\\"), UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): append(UInt8(ascii: "\\"), UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): append(UInt8(ascii: "\\"), UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): append(UInt8(ascii: "\\"), UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): append(UInt8(ascii: "\\"), UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                append("\\u00")
                append(hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 0xF)])
            default: append(byte)
            }
        }
    }

    /// A JSON string from UTF-8 bytes (e.g. a database column), exactly as `string(String(decoding:))`
    /// would write it: ASCII is copied or escaped here; anything else goes through String, which
    /// repairs invalid sequences.
    public mutating func string(utf8 text: UnsafeBufferPointer<UInt8>) {
        // One pass for the usual case: ASCII with nothing to escape, copied as is.
        var plain = true
        for byte in text where byte >= 0x80 || byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            plain = false
            break
        }
        if plain {
            append(UInt8(ascii: "\""))
            append(text)
            append(UInt8(ascii: "\""))
            needsComma = true
            return
        }
        var ascii = true
        for byte in text where byte >= 0x80 {
            ascii = false
            break
        }
        guard ascii else { return string(String(decoding: text, as: UTF8.self)) }
        append(UInt8(ascii: "\""))
        var clean = true
        for byte in text where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            clean = false
            break
        }
        if clean { append(text) } else { escape(text) }
        append(UInt8(ascii: "\""))
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
        append(value ? "true" : "false")
        needsComma = true
    }

    /// Optional fields (here and below) are left out when nil, as Codable's encodeIfPresent does.
    public mutating func field(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        append(decimal: value)
        needsComma = true
    }

    /// An ISO-8601 date with milliseconds, the API's date form.
    public mutating func field(_ name: StaticString, _ date: Date?) {
        guard let date else { return }
        key(name)
        append(UInt8(ascii: "\""))
        if let text = ISO8601.fixedText(date) {
            Swift.withUnsafeBytes(of: text) { append($0.assumingMemoryBound(to: UInt8.self)) }
        } else {
            append(contentsOf: ISO8601.format(date))
        }
        append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A UUID in its lowercase canonical form.
    public mutating func field(_ name: StaticString, _ id: UUID) {
        key(name)
        reserve(38)
        base[count] = UInt8(ascii: "\"")
        id.writeHex(into: UnsafeMutableBufferPointer(start: base + count + 1, count: 36))
        base[count + 37] = UInt8(ascii: "\"")
        count += 38
        needsComma = true
    }

    /// `null` for a missing value (for fields the API always includes).
    public mutating func null(_ name: StaticString) {
        key(name)
        append("null")
        needsComma = true
    }

    /// Splices already-encoded JSON in as the next value.
    public mutating func raw(_ json: [UInt8]) {
        append(json)
        needsComma = true
    }
}
