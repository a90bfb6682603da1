import Foundation
import MTProtoCrypto
import MTProtoNetwork
import MTProtoTransport

/// Where a data center listens.
public struct DataCenterAddress: Sendable, Hashable, Codable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = 443) {
        self.host = host
        self.port = port
    }
}

/// Everything the client needs to reach Telegram and introduce itself.
public struct TelegramClientConfiguration: Sendable {
    public var apiId: Int32
    public var apiHash: String
    /// Addresses of the data centers by number (`productionDataCenters` by default).
    public var dataCenters: [Int32: DataCenterAddress]
    /// Server keys the handshake accepts (Telegram's production key by default).
    public var rsaKeys: [RSAPublicKey]
    /// Test servers: p_q_inner_data_dc carries `dc + 10000`.
    public var testServers: Bool
    /// The data center a client without a session starts at.
    public var initialDataCenter: Int32 = 2
    public var transport: TransportConfiguration = .init(kind: .intermediate, obfuscated: false)
    public var deviceModel: String
    public var systemVersion: String
    public var appVersion: String
    public var langCode: String
    public var systemLangCode: String
    /// FLOOD_WAIT of at most this long: sleep and retry; longer: throw `.floodWait`.
    public var floodWaitThreshold: Duration = .seconds(30)
    /// How long a gap in pts/qts/seq may stay open (a missing update may still arrive) before getDifference.
    public var updateGapTimeout: Duration = .milliseconds(500)
    /// `.stateChanged` is emitted at most this often while updates stream in (and after each difference page).
    public var stateCoalescingInterval: Duration = .milliseconds(200)
    /// After the sender gave up reconnecting: try again this often.
    public var disconnectedRetryInterval: Duration = .seconds(60)
    /// The newest layer this client speaks (invokeWithLayer).
    public var layer: Int32 = 201
    /// Passed through to each data center's `SenderConfiguration`.
    public var connectTimeout: Duration = .seconds(10)
    public var handshakeTimeout: Duration = .seconds(15)
    public var requestTimeout: Duration = .seconds(30)
    public var pingInterval: Duration = .seconds(60)
    public var reconnectAttempts = 5
    public var reconnectBaseDelay: Duration = .milliseconds(500)
    public var reconnectMaximumDelay: Duration = .seconds(10)

    public init(apiId: Int32, apiHash: String,
                dataCenters: [Int32: DataCenterAddress] = TelegramClientConfiguration.productionDataCenters,
                rsaKeys: [RSAPublicKey] = TelegramClientConfiguration.productionRSAKeys,
                testServers: Bool = false,
                deviceModel: String = "ChannelGateway", systemVersion: String = "Linux",
                appVersion: String = "1.0", langCode: String = "en") {
        self.apiId = apiId
        self.apiHash = apiHash
        self.dataCenters = dataCenters
        self.rsaKeys = rsaKeys
        self.testServers = testServers
        self.deviceModel = deviceModel
        self.systemVersion = systemVersion
        self.appVersion = appVersion
        self.langCode = langCode
        self.systemLangCode = langCode
    }

    /// Telegram's production data centers (IPv4, port 443).
    public static let productionDataCenters: [Int32: DataCenterAddress] = [
        1: DataCenterAddress(host: "149.154.175.53", port: 443),
        2: DataCenterAddress(host: "149.154.167.51", port: 443),
        3: DataCenterAddress(host: "149.154.175.100", port: 443),
        4: DataCenterAddress(host: "149.154.167.91", port: 443),
        5: DataCenterAddress(host: "91.108.56.130", port: 443),
    ]

    /// Telegram's production server key (core.telegram.org/mtproto/auth_key; fingerprint
    /// 0xd09d1d85de64fd85, i.e. -3414540481677951611 as a signed 64-bit number).
    public static let productionRSAKeyPEM = """
        -----BEGIN RSA PUBLIC KEY-----
        MIIBCgKCAQEA6LszBcC1LGzyr992NzE0ieY+BSaOW622Aa9Bd4ZHLl+TuFQ4lo4g
        5nKaMBwK/BIb9xUfg0Q29/2mgIR6Zr9krM7HjuIcCzFvDtr+L0GQjae9H0pRB2OO
        62cECs5HKhT5DZ98K33vmWiLowc621dQuwKWSQKjWf50XYFw42h21P2KXUGyp2y/
        +aEyZ+uVgLLQbRA1dEjSDZ2iGRy12Mk5gpYc397aYp438fsJoHIgJ2lgMv5h7WY9
        t6N/byY9Nw9p21Og3AoXSL2q/2IJ1WRUhebgAdGVMlV1fkuOQoEzR7EdpqtQD9Cs
        5+bfo3Nhmcyvk5ftB0WkJ9z6bNZ7yxrP8wIDAQAB
        -----END RSA PUBLIC KEY-----
        """

    /// Telegram's test-server key (fingerprint -5595554452916591101).
    public static let testRSAKeyPEM = """
        -----BEGIN RSA PUBLIC KEY-----
        MIIBCgKCAQEAyMEdY1aR+sCR3ZSJrtztKTKqigvO/vBfqACJLZtS7QMgCGXJ6XIR
        yy7mx66W0/sOFa7/1mAZtEoIokDP3ShoqF4fVNb6XeqgQfaUHd8wJpDWHcR2OFwv
        plUUI1PLTktZ9uW2WE23b+ixNwJjJGwBDJPQEQFBE+vfmH0JP503wr5INS1poWg/
        j25sIWeYPHYeOrFp/eXaqhISP6G+q2IeTaWTXpwZj4LzXq5YOpk4bYEQ6mvRq7D1
        aHWfYmlEGepfaYR8Q0YqvvhYtMte3ITnuSJs171+GDqpdKcSwHnd6FudwGO4pcCO
        j4WcDuXc2CTHgH8gFTNhp/Y8/SpDOhvn9QIDAQAB
        -----END RSA PUBLIC KEY-----
        """

    // The PEMs are constants checked by a test; parsing them cannot fail at run time.
    public static let productionRSAKeys: [RSAPublicKey] = [try! RSAPublicKey(pem: productionRSAKeyPEM)]
    public static let testRSAKeys: [RSAPublicKey] = [try! RSAPublicKey(pem: testRSAKeyPEM)]

    /// The sender configuration for data center `dc`, or nil when its address is unknown.
    func senderConfiguration(dc: Int32) -> SenderConfiguration? {
        guard let address = dataCenters[dc] else { return nil }
        var transport = self.transport
        let wireDc = testServers ? dc + 10_000 : dc
        if transport.obfuscated { transport.dcId = Int16(truncatingIfNeeded: wireDc) }
        var configuration = SenderConfiguration(host: address.host, port: address.port, dcId: wireDc,
                                                transport: transport, rsaKeys: rsaKeys)
        configuration.connectTimeout = connectTimeout
        configuration.handshakeTimeout = handshakeTimeout
        configuration.requestTimeout = requestTimeout
        configuration.pingInterval = pingInterval
        configuration.reconnectAttempts = reconnectAttempts
        configuration.reconnectBaseDelay = reconnectBaseDelay
        configuration.reconnectMaximumDelay = reconnectMaximumDelay
        return configuration
    }
}
