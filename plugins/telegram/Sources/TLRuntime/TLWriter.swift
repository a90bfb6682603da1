/// Serializes TL values into a growing byte buffer (little-endian, 4-byte aligned).
public struct TLWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable public mutating func write(_ value: Int32) { write(UInt32(bitPattern: value)) }

    @inlinable public mutating func write(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func write(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    @inlinable public mutating func write(_ value: Double) { write(Int64(bitPattern: value.bitPattern)) }

    /// Boxed `Bool`: boolTrue / boolFalse constructors.
    @inlinable public mutating func write(_ value: Bool) {
        write(value ? TLConstructorIDs.boolTrue : TLConstructorIDs.boolFalse)
    }

    @inlinable public mutating func write(_ value: String) { writeBytes(Array(value.utf8)) }

    public mutating func write(_ value: TLInt128) { bytes.append(contentsOf: value.bytes) }
    public mutating func write(_ value: TLInt256) { bytes.append(contentsOf: value.bytes) }

    /// TL `bytes`/`string`: a 1-byte length (< 254) or 0xfe + 3-byte length, then the data,
    /// padded with zeros to a multiple of 4.
    public mutating func writeBytes(_ data: [UInt8]) {
        let header: Int
        if data.count < 254 {
            bytes.append(UInt8(data.count))
            header = 1
        } else {
            bytes.append(0xfe)
            bytes.append(UInt8(truncatingIfNeeded: data.count))
            bytes.append(UInt8(truncatingIfNeeded: data.count >> 8))
            bytes.append(UInt8(truncatingIfNeeded: data.count >> 16))
            header = 4
        }
        bytes.append(contentsOf: data)
        let padding = (4 - (header + data.count) % 4) % 4
        if padding > 0 { bytes.append(contentsOf: repeatElement(0, count: padding)) }
    }

    /// Bytes written as they are (already-serialized objects, message payloads).
    public mutating func writeRaw(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// Boxed `Vector<T>`: the vector constructor, the count, then each element.
    @inlinable public mutating func writeVector<T>(_ elements: [T], _ element: (inout TLWriter, T) -> Void) {
        write(TLConstructorIDs.vector)
        writeBareVector(elements, element)
    }

    /// Bare `vector<T>`: the count, then each element.
    @inlinable public mutating func writeBareVector<T>(_ elements: [T], _ element: (inout TLWriter, T) -> Void) {
        write(Int32(truncatingIfNeeded: elements.count))
        for value in elements { element(&self, value) }
    }
}

/// Constructor ids the runtime itself knows (the schema marks them "parsed manually").
public enum TLConstructorIDs {
    public static let boolTrue: UInt32 = 0x9972_75b5
    public static let boolFalse: UInt32 = 0xbc79_9737
    public static let vector: UInt32 = 0x1cb5_c415
}
