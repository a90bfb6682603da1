import CFuzzerDriver
import MTProto
import MTProtoCrypto
import MTProtoTL
import MTProtoTransport
import TLRuntime
import TelegramAPI

#if canImport(Glibc)
import Glibc
#endif

// A libFuzzer target (built with `-sanitize=fuzzer`, run by scripts/fuzz.sh). The first byte picks
// the decoder; the rest is the hostile input. Every decoder must throw, never trap or hang.

/// A fixed key so the session decoder gets past the auth_key_id check and exercises decryption.
let fuzzKey = AuthKey((0..<256).map { UInt8(truncatingIfNeeded: $0 &* 7) })!
let clientSession = ClientSession(authKey: fuzzKey, salt: 1, timeOffset: 0, now: { 1_700_000_000 })
let serverSession = ServerSession(authKey: fuzzKey, salt: 1, now: { 1_700_000_000 })

/// Also exported under libFuzzer's conventional name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size > 0 else { return 0 }
    let selector = data[0]
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch selector % 8 {
    case 0: _ = try? Api.Updates(tlBytes: input)
    case 1: _ = try? Api.messages.Dialogs(tlBytes: input)
    case 2: _ = try? Api.Message(tlBytes: input)
    case 3: _ = try? MT.ServerDHParams(tlBytes: input)
    case 4:
        let codec = TransportCodec.server(maxFrameLength: 1 << 16)
        _ = try? codec.decode(input)
    case 5:
        let kinds = TransportKind.allCases
        let codec = TransportCodec(configuration: TransportConfiguration(kind: kinds[Int(selector / 8) % kinds.count], obfuscated: false),
                                   role: .client)
        _ = try? codec.decode(input)
    case 6:
        _ = try? clientSession.receive(input)
        _ = try? ServiceMessages.parseContainer(input)
        _ = try? ServiceMessages.parseRPCResult(input)
    default:
        _ = try? serverSession.receive(input)
        _ = try? PlainMessage.decode(input)
        let handshake = ClientHandshake(rsaKeys: [], dcId: 2, now: { 1_700_000_000 })
        _ = handshake.start()
        _ = try? handshake.receive(input)
    }
    return 0
}

// Entry point: libFuzzer drives fuzzOne with its command-line options (-max_total_time, …).
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
var count = CommandLine.argc
exit(LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOne(data, size) })
