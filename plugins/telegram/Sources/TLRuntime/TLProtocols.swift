/// A value that writes itself in TL form (boxed: constructor id first, where the type has one).
public protocol TLSerializable: Sendable {
    func serialize(to writer: inout TLWriter)
}

/// A value that reads itself from TL (boxed form).
public protocol TLDeserializable: Sendable {
    init(from reader: inout TLReader) throws
}

public typealias TLObject = TLSerializable & TLDeserializable

/// A constructor: a struct that can also be written and read bare (without its id).
public protocol TLConstructor: TLObject {
    static var constructorId: UInt32 { get }
    static var tlName: String { get }
    func serializeBare(to writer: inout TLWriter)
    init(bareFrom reader: inout TLReader) throws
}

/// A function (RPC method): serialized as the call, answered with `Result`.
public protocol TLFunction: TLSerializable {
    associatedtype Result: TLDeserializable
    static var constructorId: UInt32 { get }
    static var tlName: String { get }
}

extension TLSerializable {
    /// The value's boxed TL bytes.
    public func serialized() -> [UInt8] {
        var writer = TLWriter()
        serialize(to: &writer)
        return writer.bytes
    }
}

extension TLDeserializable {
    /// Reads one value from `bytes` (trailing bytes are allowed: MTProto pads messages).
    public init(tlBytes bytes: [UInt8]) throws {
        var reader = TLReader(bytes)
        try self.init(from: &reader)
    }
}

// Primitive results (functions answering `Bool`, `int`, `Vector<long>`, …).
extension Bool: TLObject {
    public func serialize(to writer: inout TLWriter) { writer.write(self) }
    public init(from reader: inout TLReader) throws { self = try reader.readBool() }
}

extension Int32: TLObject {
    public func serialize(to writer: inout TLWriter) { writer.write(self) }
    public init(from reader: inout TLReader) throws { self = try reader.readInt32() }
}

extension Int64: TLObject {
    public func serialize(to writer: inout TLWriter) { writer.write(self) }
    public init(from reader: inout TLReader) throws { self = try reader.readInt64() }
}

extension Double: TLObject {
    public func serialize(to writer: inout TLWriter) { writer.write(self) }
    public init(from reader: inout TLReader) throws { self = try reader.readDouble() }
}

extension String: TLObject {
    public func serialize(to writer: inout TLWriter) { writer.write(self) }
    public init(from reader: inout TLReader) throws { self = try reader.readString() }
}

/// Boxed `Vector<T>` of boxed values.
extension Array: TLSerializable where Element: TLSerializable {
    public func serialize(to writer: inout TLWriter) { writer.writeVector(self) { $1.serialize(to: &$0) } }
}

extension Array: TLDeserializable where Element: TLDeserializable {
    public init(from reader: inout TLReader) throws { self = try reader.readVector { try Element(from: &$0) } }
}
