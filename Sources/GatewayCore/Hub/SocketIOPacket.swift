import Foundation
import GatewayModel

/// Socket.IO protocol v5 packets, carried in Engine.IO message packets. Pure: no I/O.
/// Form: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`.
/// https://socket.io/docs/v4/socket-io-protocol/
struct SocketIOPacket: Equatable, Sendable {
    enum Kind: Int, Sendable {
        case connect = 0, disconnect, event, ack, connectError, binaryEvent, binaryAck
    }

    var kind: Kind
    var namespace = "/"
    var ackId: Int?
    var data: JSONValue?

    struct Malformed: Error, Equatable, CustomStringConvertible {
        let description: String
    }

    init(kind: Kind, namespace: String = "/", ackId: Int? = nil, data: JSONValue? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.ackId = ackId
        self.data = data
    }

    init(parsing text: String, maxLength: Int = 1 << 20) throws {
        guard text.utf8.count <= maxLength else { throw Malformed(description: "packet longer than \(maxLength) bytes") }
        var rest = Substring(text)
        guard let typeCharacter = rest.first, let typeValue = typeCharacter.wholeNumberValue, let kind = Kind(rawValue: typeValue)
        else { throw Malformed(description: "unknown Socket.IO packet type") }
        rest = rest.dropFirst()
        guard kind != .binaryEvent, kind != .binaryAck else {
            throw Malformed(description: "binary packets are not supported")
        }
        self.kind = kind
        if rest.first == "/" {
            guard let comma = rest.firstIndex(of: ",") else {
                namespace = String(rest)
                return
            }
            namespace = String(rest[..<comma])
            rest = rest[rest.index(after: comma)...]
        }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        if !digits.isEmpty {
            guard digits.count <= 9, let id = Int(digits) else { throw Malformed(description: "ack id out of range") }
            ackId = id
            rest = rest.dropFirst(digits.count)
        }
        if !rest.isEmpty {
            do {
                data = try JSONDecoder().decode(JSONValue.self, from: Data(rest.utf8))
            } catch {
                throw Malformed(description: "packet data is not valid JSON")
            }
        }
        switch kind {
        case .event:
            guard case .array(let items) = data, case .string = items.first else {
                throw Malformed(description: "an EVENT needs a JSON array starting with the event name")
            }
        case .ack:
            guard ackId != nil, case .array = data else { throw Malformed(description: "an ACK needs an id and a JSON array") }
        case .connect:
            if let data, data.objectValue == nil { throw Malformed(description: "CONNECT data must be an object") }
        default:
            break
        }
    }

    var encoded: String {
        var text = String(kind.rawValue)
        if namespace != "/" { text += namespace + "," }
        if let ackId { text += String(ackId) }
        if let data, let json = try? JSONEncoder().encode(data) { text += String(decoding: json, as: UTF8.self) }
        return text
    }

    /// `["name", args…]` of an EVENT.
    var eventName: String? {
        guard kind == .event, case .array(let items) = data, case .string(let name) = items.first else { return nil }
        return name
    }

    var eventArguments: [JSONValue] {
        guard case .array(let items) = data else { return [] }
        return Array(items.dropFirst())
    }

    static func event(_ name: String, _ arguments: JSONValue...) -> SocketIOPacket {
        SocketIOPacket(kind: .event, data: .array([.string(name)] + arguments))
    }
}
