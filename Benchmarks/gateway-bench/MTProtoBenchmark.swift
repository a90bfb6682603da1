import FakeDC
import Foundation
import MTProto
import MTProtoCrypto
import MTProtoNetwork
import MTProtoTransport
import TLRuntime
import TelegramAPI

/// MTProto figures: message encryption (vs OpenSSL's raw AES-IGE in the same run), TL decoding of a
/// realistic messages.dialogs, and the auth-key handshake against the in-process fake DC on loopback.
struct MTProtoBenchmark {
    let quick: Bool

    struct CipherResult { let size: Int; let megabytesPerSecond: Double; let rawMegabytesPerSecond: Double }

    /// encrypt + decrypt of one message body, in MB of body per second.
    func cipher(size: Int) throws -> CipherResult {
        let authKey = AuthKey(SecureRandom.bytes(256))!
        let body = SecureRandom.bytes(size)
        let rounds = max(20, (quick ? 8 : 64) * 1024 * 1024 / size)
        let message = DecryptedMessage(salt: 1, sessionId: 2, messageId: 3, seqNo: 1, body: body)
        let start = Date()
        for _ in 0..<rounds {
            let packet = EncryptedMessage.encrypt(message, authKey: authKey, sender: .client)
            _ = try EncryptedMessage.decrypt(packet, authKey: authKey, sender: .client)
        }
        let ours = Double(size * rounds) / Date().timeIntervalSince(start) / 1_048_576
        let key = SecureRandom.bytes(32), iv = SecureRandom.bytes(32)
        let rawStart = Date()
        for _ in 0..<rounds {
            let encrypted = try AES256IGE.referenceEncrypt(body, key: key, iv: iv)
            _ = try AES256IGE.referenceDecrypt(encrypted, key: key, iv: iv)
        }
        let raw = Double(size * rounds) / Date().timeIntervalSince(rawStart) / 1_048_576
        return CipherResult(size: size, megabytesPerSecond: ours, rawMegabytesPerSecond: raw)
    }

    /// messages.dialogs with 100 dialogs, their 100 last messages and 100 users: lists and objects per second.
    func dialogsDecoding() throws -> (bytes: Int, listsPerSecond: Double, objectsPerSecond: Double) {
        let count = 100
        let notify = Api.PeerNotifySettings.peerNotifySettings(Api.Types.PeerNotifySettings(showPreviews: true, muteUntil: 0))
        let dialogs: [Api.Dialog] = (0..<count).map { index in
            let peer = Api.Peer.peerUser(Api.Types.PeerUser(userId: Int64(1000 + index)))
            return .dialog(Api.Types.Dialog(peer: peer, topMessage: Int32(index),
                                               readInboxMaxId: Int32(index), readOutboxMaxId: Int32(index), unreadCount: 3,
                                               unreadMentionsCount: 0, unreadReactionsCount: 0, notifySettings: notify, pts: 10))
        }
        let messages: [Api.Message] = (0..<count).map { index in
            let peer = Api.Peer.peerUser(Api.Types.PeerUser(userId: Int64(1000 + index)))
            let bold = Api.MessageEntity.messageEntityBold(Api.Types.MessageEntityBold(offset: 0, length: 5))
            let text = "Hello, this is message \(index) — with some text 🙂"
            return .message(Api.Types.Message(out: index % 2 == 0, id: Int32(index), fromId: peer, peerId: peer,
                                              date: 1_700_000_000, message: text, entities: [bold]))
        }
        let users: [Api.User] = (0..<count).map { index in
            .user(Api.Types.User(contact: true, id: Int64(1000 + index), accessHash: Int64(index) * 7919,
                                         firstName: "User \(index)", lastName: "Example", username: "user\(index)",
                                         phone: "1555000\(index)", status: .userStatusRecently(Api.Types.UserStatusRecently())))
        }
        let bytes = Api.messages.Dialogs.dialogs(Api.Types.messages.Dialogs(dialogs: dialogs, messages: messages, chats: [], users: users)).serialized()
        let rounds = quick ? 500 : 3000
        let start = Date()
        for _ in 0..<rounds { _ = try Api.messages.Dialogs(tlBytes: bytes) }
        let elapsed = Date().timeIntervalSince(start)
        return (bytes.count, Double(rounds) / elapsed, Double(rounds * count * 3) / elapsed)
    }

    /// A fresh auth key per connection against the fake DC over loopback TCP: median and p90 in ms.
    func handshakes() async throws -> (median: Double, p90: Double, count: Int) {
        let key = try RSAPrivateKey.generate()
        let dataCenter = FakeDataCenter(configuration: .init(privateKey: key))
        let port = try await dataCenter.start()
        var times: [Double] = []
        for _ in 0..<(quick ? 10 : 40) {
            let configuration = SenderConfiguration(host: "127.0.0.1", port: port, dcId: 10_002,
                                                    transport: .init(kind: .intermediate, obfuscated: false), rsaKeys: [key.publicKey])
            let sender = MTProtoSender(configuration: configuration)
            let start = Date()
            try await sender.connect()
            times.append(Date().timeIntervalSince(start) * 1000)
            await sender.close()
        }
        await dataCenter.stop()
        times.sort()
        return (times[times.count / 2], times[times.count * 9 / 10], times.count)
    }

    func report() async throws -> String {
        var text = """
            ### MTProto: encryption, TL decoding, handshake

            Encryption is one MTProto 2.0 message (msg_key SHA-256, KDF, AES-256-IGE, padding) encrypted
            and decrypted; the reference, same run, is OpenSSL's own `AES_ige_encrypt` encrypting and
            decrypting the same bytes (cipher only: no hashing, no framing).

            | body | MTProto encrypt+decrypt (MB/s) | raw OpenSSL AES-IGE encrypt+decrypt (MB/s) | % of raw |
            |---:|---:|---:|---:|

            """
        for size in [1024, 64 * 1024] {
            let result = try cipher(size: size)
            text += "| \(size / 1024) KB | \(format(result.megabytesPerSecond, 1)) | \(format(result.rawMegabytesPerSecond, 1)) | \(format(result.megabytesPerSecond / result.rawMegabytesPerSecond * 100, 1))% |\n"
        }
        let decode = try dialogsDecoding()
        text += """

            TL decoding of a `messages.dialogs` with 100 dialogs, their 100 last messages and 100 users
            (\(decode.bytes) bytes): \(format(decode.listsPerSecond)) lists/s, \(format(decode.objectsPerSecond)) top-level objects/s.

            """
        let handshake = try await handshakes()
        text += """

            Auth key exchange (req_pq_multi → req_DH_params → set_client_DH_params, 2048-bit DH, new TCP
            connection each) against the in-process fake DC on loopback, \(handshake.count) runs:
            median \(format(handshake.median, 1)) ms, p90 \(format(handshake.p90, 1)) ms (client and server share the 2 cores).

            """
        return text
    }
}
