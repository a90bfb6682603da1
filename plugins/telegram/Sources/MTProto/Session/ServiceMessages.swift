import TLRuntime

/// The framing constructors the schema leaves to hand-written code: containers, gzip, rpc_result.
public enum ServiceConstructor {
    public static let messageContainer: UInt32 = 0x73f1_f8dc
    public static let gzipPacked: UInt32 = 0x3072_cfa1
    public static let rpcResult: UInt32 = 0xf35c_6d01
    public static let rpcError: UInt32 = 0x2144_ca19
}

/// One message of a container (or the single message of a packet).
public struct InnerMessage: Sendable, Equatable {
    public var messageId: Int64
    public var seqNo: Int32
    public var body: [UInt8]

    public init(messageId: Int64, seqNo: Int32, body: [UInt8]) {
        self.messageId = messageId
        self.seqNo = seqNo
        self.body = body
    }

    /// Odd seq_no: the message needs an acknowledgement.
    public var isContentRelated: Bool { seqNo & 1 == 1 }
}

public enum ServiceMessages {
    /// Upper bounds from the protocol: a container holds at most 1020 messages; we refuse to inflate
    /// gzip_packed beyond 16 MB.
    public static let maximumContainerCount = 1020
    public static let maximumInflatedSize = 16 << 20

    public static func constructorId(of body: [UInt8]) -> UInt32? {
        var reader = TLReader(body)
        return try? reader.readUInt32()
    }

    public static func container(_ messages: [InnerMessage]) -> [UInt8] {
        var writer = TLWriter(capacity: messages.reduce(8) { $0 + 16 + $1.body.count })
        writer.write(ServiceConstructor.messageContainer)
        writer.write(Int32(messages.count))
        for message in messages {
            writer.write(message.messageId)
            writer.write(message.seqNo)
            writer.write(Int32(message.body.count))
            writer.writeRaw(message.body)
        }
        return writer.bytes
    }

    /// Reads a container body (constructor id included); each inner length is checked.
    public static func parseContainer(_ body: [UInt8]) throws -> [InnerMessage] {
        var reader = TLReader(body)
        guard try reader.readUInt32() == ServiceConstructor.messageContainer else { throw SessionError.malformedContainer("not a container") }
        let count = Int(try reader.readInt32())
        guard (0...maximumContainerCount).contains(count) else { throw SessionError.malformedContainer("\(count) messages") }
        var messages: [InnerMessage] = []
        messages.reserveCapacity(count)
        for _ in 0..<count {
            let messageId = try reader.readInt64()
            let seqNo = try reader.readInt32()
            let length = Int(try reader.readInt32())
            guard length >= 4, length % 4 == 0, length <= reader.remaining else {
                throw SessionError.malformedContainer("inner message of \(length) bytes with \(reader.remaining) left")
            }
            messages.append(InnerMessage(messageId: messageId, seqNo: seqNo, body: try reader.readRaw(length)))
        }
        return messages
    }

    public static func gzipPacked(_ body: [UInt8]) -> [UInt8] {
        var writer = TLWriter()
        writer.write(ServiceConstructor.gzipPacked)
        writer.writeBytes(Gzip.deflate(body))
        return writer.bytes
    }

    /// The body inside a gzip_packed, or the body itself if it is not packed.
    public static func unpacked(_ body: [UInt8]) throws -> [UInt8] {
        var reader = TLReader(body)
        guard try reader.readUInt32() == ServiceConstructor.gzipPacked else { return body }
        return try Gzip.inflate(try reader.readBytes(), limit: maximumInflatedSize)
    }

    public static func rpcResult(requestMessageId: Int64, result: [UInt8]) -> [UInt8] {
        var writer = TLWriter(capacity: result.count + 12)
        writer.write(ServiceConstructor.rpcResult)
        writer.write(requestMessageId)
        writer.writeRaw(result)
        return writer.bytes
    }

    public static func rpcError(_ error: RPCError) -> [UInt8] {
        var writer = TLWriter()
        writer.write(ServiceConstructor.rpcError)
        writer.write(error.code)
        writer.write(error.message)
        return writer.bytes
    }

    /// The answer an rpc_result carries: the result bytes (unpacked) or the error.
    public static func parseRPCResult(_ body: [UInt8]) throws -> (requestMessageId: Int64, result: Result<[UInt8], RPCError>) {
        var reader = TLReader(body)
        _ = try reader.readUInt32()
        let requestMessageId = try reader.readInt64()
        let result = try unpacked(reader.readRemaining())
        var inner = TLReader(result)
        if try inner.readUInt32() == ServiceConstructor.rpcError {
            let code = try inner.readInt32()
            let message = try inner.readString()
            return (requestMessageId, .failure(RPCError(code: code, message: message)))
        }
        return (requestMessageId, .success(result))
    }
}
