import FakeDC
import MTProtoCrypto
import MTProtoNetwork
import MTProtoTransport

/// A fake DC on a free loopback port, and senders configured for it.
enum FakeDCSupport {
    /// One test key for the whole run (RSA generation is slow-ish).
    static let key: RSAPrivateKey = try! RSAPrivateKey.generate()

    static func start(_ adjust: (inout FakeDataCenter.Configuration) -> Void = { _ in }) async throws -> FakeDataCenter {
        var configuration = FakeDataCenter.Configuration(privateKey: key)
        adjust(&configuration)
        let dataCenter = FakeDataCenter(configuration: configuration)
        _ = try await dataCenter.start()
        return dataCenter
    }

    static func senderConfiguration(port: Int, transport: TransportConfiguration = .init(kind: .intermediate, obfuscated: false),
                                    keys: [RSAPublicKey] = [key.publicKey]) -> SenderConfiguration {
        var configuration = SenderConfiguration(host: "127.0.0.1", port: port, dcId: 10_002, transport: transport, rsaKeys: keys)
        configuration.requestTimeout = .seconds(10)
        configuration.reconnectBaseDelay = .milliseconds(50)
        configuration.reconnectAttempts = 3
        configuration.handshakeTimeout = .seconds(10)
        return configuration
    }

    static var allTransports: [TransportConfiguration] {
        TransportKind.allCases.flatMap { kind in
            [false, true].map { TransportConfiguration(kind: kind, obfuscated: $0) }
        }.filter(\.isSupported)
    }
}
