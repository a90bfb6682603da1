import FakeDC
import Foundation

/// `fake-dc --world`'s control protocol: one JSON object per stdin line, one JSON object per
/// answer on stdout, in order. Every answer has `ok`; a failure is `{"ok": false, "error": "…"}`
/// (bad JSON, unknown command, missing or mistyped field, unknown user…), never a crash. Blank
/// lines are ignored. Commands that make the world push updates answer once the pushes have been
/// handed to the DCs (`settle()`).
///
///     {"cmd":"ping"}                                                → {"ok":true}
///     {"cmd":"add_user","phone":"+15550001","firstName":"Ann","lastName":null,"username":"ann",
///      "password":null,"passwordHint":null,"homeDc":2}              → {"ok":true,"userId":N,"accessHash":H}
///     {"cmd":"user","userId":N}                                     → {"ok":true,"user":{"id","accessHash","phone",
///                                                                      "firstName","lastName","username","homeDc","hasPassword"}}
///     {"cmd":"code_for","phone":"+15550001"}                        → {"ok":true,"code":"12345"}  (the last auth.sendCode's)
///     {"cmd":"deliver","from":A,"to":B,"text":"hi"}                 → {"ok":true,"messageId":N}   (the id in B's box)
///     {"cmd":"messages","userId":A}                                 → {"ok":true,"messages":[Message…]}  (A's box, ascending ids)
///     {"cmd":"create_group","title":"T","members":[A,B]}            → {"ok":true,"chatId":N}      (the first member creates it)
///     {"cmd":"create_channel","title":"T","members":[A,B],"megagroup":true} → {"ok":true,"channelId":N}
///     {"cmd":"deliver_group","from":A,"to":G,"text":"hi"}           → {"ok":true,"messageId":N}   (G: a group or channel id)
///     {"cmd":"channel_messages","channelId":C}                      → {"ok":true,"messages":[Message…]}
///     {"cmd":"withhold","userId":A,"withheld":true}                 → {"ok":true}  (pushes to A dropped; pts/seq still advance)
///     {"cmd":"revoke","userId":A}                                   → {"ok":true}  (A's keys now get 401 SESSION_REVOKED)
///     {"cmd":"state","userId":A}                                    → {"ok":true,"pts":N,"seq":N}
///     {"cmd":"outage","seconds":S}                                  → {"ok":true}  (every DC cuts its links and
///                                                                      refuses new ones for S seconds, then listens again)
///     {"cmd":"scan_login_token","token":"<base64url>","userId":A}   → {"ok":true}  (A's phone app accepts a QR login
///                                                                      token — the `tg://login?token=` URL or just its
///                                                                      token — and updateLoginToken goes to the waiting
///                                                                      client; fails with AUTH_TOKEN_INVALID, _EXPIRED,
///                                                                      _ALREADY_ACCEPTED or _EXCEPTION)
///
/// Message: `{"id", "chatPeer": {"type": "user"|"chat"|"channel", "id"}, "fromId", "text", "date", "out",
/// "replyTo", "service"}` — `chatPeer` is the chat from the box owner's side (for a private chat: the other user).
actor WorldControl {
    let world: FakeTelegramWorld
    let dataCenters: [FakeDataCenter]

    init(world: FakeTelegramWorld, dataCenters: [FakeDataCenter]) {
        self.world = world
        self.dataCenters = dataCenters
    }

    struct Failure: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// The answer (one JSON line, without the newline) to one command line.
    func answer(_ line: String) async -> String {
        var result: [String: Any]
        do {
            result = try await execute(line)
            result["ok"] = true
        } catch let failure as Failure {
            result = ["ok": false, "error": failure.message]
        } catch {
            result = ["ok": false, "error": String(describing: error)]
        }
        return Self.encode(result)
    }

    private func execute(_ line: String) async throws -> [String: Any] {
        let parsed: JSONValue
        do {
            parsed = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        } catch {
            throw Failure("not JSON: \(line.prefix(200))")
        }
        guard case .object(let fields) = parsed else { throw Failure("a command is a JSON object") }
        let command = Fields(fields)
        let name = try command.string("cmd")
        switch name {
        case "ping":
            return [:]

        case "add_user":
            let phone = try command.string("phone")
            let id: Int64
            do {
                id = try await world.addUser(phone: phone, firstName: try command.string("firstName"),
                                             lastName: try command.optionalString("lastName"),
                                             username: try command.optionalString("username"),
                                             password: try command.optionalString("password"),
                                             passwordHint: try command.optionalString("passwordHint"),
                                             homeDc: Int32(try command.optionalInt("homeDc", in: 1...Int64(Int32.max)) ?? 2))
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure("add_user \(phone): \(error)")
            }
            let user = await world.user(id)
            return ["userId": id, "accessHash": user?.accessHash ?? 0]

        case "user":
            let user = try await existingUser(command, "userId")
            return ["user": Self.render(user)]

        case "code_for":
            let phone = try command.string("phone")
            guard let code = await world.codeFor(phone: phone) else { throw Failure("no login code was sent to \(phone)") }
            return ["code": code]

        case "deliver":
            let from = try await existingUser(command, "from").id
            let to = try await existingUser(command, "to").id
            let text = try command.string("text")
            let id = await world.deliverMessage(from: from, to: to, text: text)
            await world.settle()
            return ["messageId": Int(id)]

        case "messages":
            let user = try await existingUser(command, "userId")
            return ["messages": await world.messages(of: user.id).map(Self.render)]

        case "create_group":
            let title = try command.string("title")
            let members = try await existingUsers(command, "members")
            let id = await world.createGroup(title: title, members: members)
            await world.settle()
            return ["chatId": id]

        case "create_channel":
            let title = try command.string("title")
            let members = try await existingUsers(command, "members")
            let megagroup = try command.optionalBool("megagroup") ?? true
            let id = await world.createChannel(title: title, megagroup: megagroup, members: members)
            await world.settle()
            return ["channelId": id]

        case "deliver_group":
            let from = try await existingUser(command, "from").id
            let group = try command.int("to")
            let text = try command.string("text")
            let id = await world.deliverGroupMessage(from: from, to: group, text: text)
            guard id != 0 else { throw Failure("deliver_group: no group or channel \(group)") }
            await world.settle()
            return ["messageId": Int(id)]

        case "channel_messages":
            let channel = try command.int("channelId")
            guard await world.channelPts(channel) != nil else { throw Failure("no channel \(channel)") }
            return ["messages": await world.channelMessages(channel).map(Self.render)]

        case "withhold":
            let user = try await existingUser(command, "userId")
            let withheld = try command.optionalBool("withheld") ?? true
            await world.withholdUpdates(user.id, withheld)
            return [:]

        case "revoke":
            let user = try await existingUser(command, "userId")
            await world.revokeSessions(userId: user.id)
            return [:]

        case "state":
            let user = try await existingUser(command, "userId")
            guard let state = await world.updateState(of: user.id) else { throw Failure("no user \(user.id)") }
            return ["pts": Int(state.pts), "seq": Int(state.seq)]

        case "outage":
            let seconds = try command.int("seconds")
            guard (1...600).contains(seconds) else { throw Failure("seconds: from 1 to 600") }
            for dataCenter in dataCenters { await dataCenter.beginOutage(for: .seconds(seconds)) }
            return [:]

        case "scan_login_token":
            let user = try await existingUser(command, "userId")
            let text = try command.string("token")
            guard let token = Self.loginToken(text) else { throw Failure("token: expected base64url (or a tg://login?token= URL)") }
            do {
                try await world.acceptLoginToken(token, by: user.id)
            } catch {
                throw Failure("scan_login_token: \(error)")
            }
            await world.settle()
            return [:]

        default:
            throw Failure("unknown command \"\(name.prefix(100))\"")
        }
    }

    private func existingUser(_ command: Fields, _ key: String) async throws -> WorldUser {
        let id = try command.int(key)
        guard let user = await world.user(id) else { throw Failure("\(key): no user \(id)") }
        return user
    }

    private func existingUsers(_ command: Fields, _ key: String) async throws -> [Int64] {
        var seen = Set<Int64>()
        let ids = try command.intList(key).filter { seen.insert($0).inserted }
        for id in ids where await world.user(id) == nil { throw Failure("\(key): no user \(id)") }
        guard !ids.isEmpty else { throw Failure("\(key): at least one user") }
        return ids
    }

    /// The bytes of a QR login token: base64url (padding optional), alone or in a `tg://login?token=` URL.
    static func loginToken(_ text: String) -> [UInt8]? {
        var encoded = text
        if let range = text.range(of: "token=") { encoded = String(text[range.upperBound...]) }
        if let end = encoded.firstIndex(of: "&") { encoded = String(encoded[..<end]) }
        encoded = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while encoded.count % 4 != 0 { encoded += "=" }
        guard !encoded.isEmpty, let data = Data(base64Encoded: encoded) else { return nil }
        return Array(data)
    }

    // MARK: Rendering

    static func render(_ user: WorldUser) -> [String: Any] {
        ["id": user.id, "accessHash": user.accessHash, "phone": user.phone, "firstName": user.firstName,
         "lastName": user.lastName ?? NSNull(), "username": user.username ?? NSNull(), "homeDc": Int(user.homeDc),
         "hasPassword": user.hasPassword]
    }

    static func render(_ message: WorldMessage) -> [String: Any] {
        let peer: [String: Any] = switch message.peer {
        case .user(let id): ["type": "user", "id": id]
        case .chat(let id): ["type": "chat", "id": id]
        case .channel(let id): ["type": "channel", "id": id]
        }
        return ["id": Int(message.id), "chatPeer": peer, "fromId": message.fromId, "text": message.text, "date": Int(message.date),
                "out": message.out, "replyTo": message.replyTo.map { Int($0) as Any } ?? NSNull(), "service": message.action != nil]
    }

    // MARK: I/O

    static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
              let text = String(data: data, encoding: .utf8) else {
            return "{\"ok\": false, \"error\": \"the answer could not be encoded\"}"
        }
        return text
    }

    static func jsonString(_ text: String) -> String {
        encode(["s": text]).dropFirst("{\"s\":".count).dropLast().description
    }

    private static let output = NSLock()

    /// Writes one line to stdout at once (unbuffered).
    static func writeLine(_ line: String) {
        output.lock()
        defer { output.unlock() }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Stdin's non-blank lines, read on a thread of their own; ends at end of input.
    static func standardInputLines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let reader = Thread {
            while let line = readLine(strippingNewline: true) {
                if !line.allSatisfy(\.isWhitespace) { continuation.yield(line) }
            }
            continuation.finish()
        }
        reader.name = "fake-dc stdin"
        reader.start()
        return stream
    }
}

/// A JSON value as a command carries it (decoded with JSONDecoder: the same on every platform).
enum JSONValue: Decodable {
    case null, bool(Bool), int(Int64), number(Double), string(String), list([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .list(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// A command's fields, with typed access and errors that name the field.
struct Fields {
    let values: [String: JSONValue]

    init(_ values: [String: JSONValue]) { self.values = values }

    private func present(_ key: String) -> JSONValue? {
        guard let value = values[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func string(_ key: String) throws -> String {
        guard let value = try optionalString(key) else { throw WorldControl.Failure("\(key): required") }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let text) = value else { throw WorldControl.Failure("\(key): expected a string") }
        return text
    }

    func int(_ key: String) throws -> Int64 {
        guard let value = try optionalInt(key) else { throw WorldControl.Failure("\(key): required") }
        return value
    }

    func optionalInt(_ key: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws -> Int64? {
        guard let value = present(key) else { return nil }
        guard case .int(let number) = value, range.contains(number) else {
            let bounds = range == Int64.min...Int64.max ? "" : " in \(range.lowerBound)...\(range.upperBound)"
            throw WorldControl.Failure("\(key): expected an integer\(bounds)")
        }
        return number
    }

    func intList(_ key: String) throws -> [Int64] {
        guard let value = present(key) else { throw WorldControl.Failure("\(key): required") }
        guard case .list(let items) = value else { throw WorldControl.Failure("\(key): expected a list of integers") }
        return try items.map { item in
            guard case .int(let number) = item else { throw WorldControl.Failure("\(key): expected a list of integers") }
            return number
        }
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = present(key) else { return nil }
        guard case .bool(let flag) = value else { throw WorldControl.Failure("\(key): expected true or false") }
        return flag
    }
}
