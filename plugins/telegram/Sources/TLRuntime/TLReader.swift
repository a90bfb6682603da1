/// Reads TL values from bytes. Every read is bounds-checked and throws `TLError` on bad input;
/// nesting depth is bounded so hostile input cannot exhaust the stack.
public struct TLReader: Sendable {
    public let bytes: [UInt8]
    public var position: Int
    @usableFromInline var depth = 0
    public static let maximumDepth = 64

    public init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }

    @inlinable mutating func require(_ count: Int) throws {
        if count > bytes.count - position { throw TLError.unexpectedEnd(needed: count, remaining: bytes.count - position) }
    }

    @inlinable public mutating func readUInt32() throws -> UInt32 {
        try require(4)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: UInt32.self) }
        position += 4
        return UInt32(littleEndian: value)
    }

    @inlinable public mutating func readInt32() throws -> Int32 { Int32(bitPattern: try readUInt32()) }

    @inlinable public mutating func readInt64() throws -> Int64 {
        try require(8)
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: Int64.self) }
        position += 8
        return Int64(littleEndian: value)
    }

    @inlinable public mutating func readDouble() throws -> Double { Double(bitPattern: UInt64(bitPattern: try readInt64())) }

    /// Boxed `Bool`.
    public mutating func readBool() throws -> Bool {
        switch try readUInt32() {
        case TLConstructorIDs.boolTrue: return true
        case TLConstructorIDs.boolFalse: return false
        case let id: throw TLError.unknownConstructor(id: id, expected: "Bool")
        }
    }

    public mutating func readBytes() throws -> [UInt8] {
        try require(1)
        var length = Int(bytes[position])
        var header = 1
        if length >= 254 {
            try require(4)
            length = Int(bytes[position + 1]) | Int(bytes[position + 2]) << 8 | Int(bytes[position + 3]) << 16
            header = 4
        }
        let padded = (header + length + 3) & ~3
        try require(padded)
        let start = position + header
        position += padded
        return Array(bytes[start..<start + length])
    }

    /// TL strings are UTF-8; invalid sequences are replaced rather than rejected, as clients do.
    public mutating func readString() throws -> String { String(decoding: try readBytes(), as: UTF8.self) }

    public mutating func readInt128() throws -> TLInt128 { TLInt128(unchecked: try readRaw(16)) }
    public mutating func readInt256() throws -> TLInt256 { TLInt256(unchecked: try readRaw(32)) }

    public mutating func readRaw(_ count: Int) throws -> [UInt8] {
        try require(count)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// Everything left (the `Object` of rpc_result, whose type only the caller knows).
    public mutating func readRemaining() -> [UInt8] {
        defer { position = bytes.count }
        return Array(bytes[position...])
    }

    /// Boxed `Vector<T>`.
    @inlinable public mutating func readVector<T>(_ element: (inout TLReader) throws -> T) throws -> [T] {
        let id = try readUInt32()
        guard id == TLConstructorIDs.vector else { throw TLError.unknownConstructor(id: id, expected: "Vector") }
        return try readBareVector(element)
    }

    /// Bare `vector<T>`. Every element takes at least 4 bytes, which bounds a hostile count.
    @inlinable public mutating func readBareVector<T>(_ element: (inout TLReader) throws -> T) throws -> [T] {
        let count = Int(try readInt32())
        guard count >= 0, count <= remaining / 4 else { throw TLError.vectorTooLong(count: count, remaining: remaining) }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try element(&self)) }
        return result
    }

    /// Called by generated boxed-type decoders around nested objects.
    @inlinable public mutating func enter() throws {
        depth += 1
        if depth > Self.maximumDepth { throw TLError.nestingTooDeep(limit: Self.maximumDepth) }
    }

    @inlinable public mutating func leave() { depth -= 1 }
}
