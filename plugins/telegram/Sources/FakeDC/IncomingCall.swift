import MTProto
import TLRuntime
import TelegramAPI

/// One RPC the fake DC received, with the wrappers (invokeWithLayer, initConnection, …) peeled off.
public struct IncomingCall: Sendable {
    /// The function's own bytes (constructor id first).
    public let body: [UInt8]
    public let constructorId: UInt32
    /// The layer from invokeWithLayer, if the client sent one on this call.
    public let layer: Int32?
    /// initConnection's api_id, if the call carried one.
    public let apiId: Int32?
    public let authKeyId: Int64
    public let messageId: Int64

    public func decode<F: TLDeserializable>(_ type: F.Type) throws -> F { try F(tlBytes: body) }
}

/// What a handler answers.
public enum CallReply: Sendable {
    case result([UInt8])
    case error(RPCError)
    /// Answer nothing (tests of the client's request timeout).
    case noReply
    /// Close the connection instead of answering (tests of reconnect and resend).
    case dropConnection

    public static func value(_ value: some TLSerializable) -> CallReply { .result(value.serialized()) }
}

/// Peels the invokeWith*/initConnection wrappers a client puts around its calls.
enum CallWrappers {
    static let invokeWithLayer: UInt32 = 0xda9b_0d0d
    static let initConnection: UInt32 = 0xc1cd_5ea9
    static let invokeWithoutUpdates: UInt32 = 0xbf94_59b7
    static let invokeAfterMsg: UInt32 = 0xcb9f_372d

    static func peel(_ body: [UInt8]) throws -> (body: [UInt8], layer: Int32?, apiId: Int32?) {
        var reader = TLReader(body)
        var layer: Int32?
        var apiId: Int32?
        while true {
            let start = reader.position
            switch try reader.readUInt32() {
            case invokeWithLayer:
                layer = try reader.readInt32()
            case initConnection:
                let flags = try reader.readUInt32()
                apiId = try reader.readInt32()
                for _ in 0..<6 { _ = try reader.readString() }  // device, system, app, lang codes, lang pack
                if flags & 1 != 0 { _ = try Api.InputClientProxy(from: &reader) }
                if flags & 2 != 0 { _ = try Api.JSONValue(from: &reader) }
            case invokeWithoutUpdates:
                break
            case invokeAfterMsg:
                _ = try reader.readInt64()
            default:
                return (Array(body[start...]), layer, apiId)
            }
        }
    }
}
