import FakeDC
import Foundation
import MTProto
import MTProtoCrypto
import Testing
import TelegramAPI
import TelegramClient

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Fake data centers sharing one `FakeTelegramWorld`, and clients configured for them.
struct TestWorld {
    /// One server key for the whole run (RSA generation is slow-ish).
    static let key: RSAPrivateKey = try! RSAPrivateKey.generate()

    let world: FakeTelegramWorld
    let dataCenters: [Int32: FakeDataCenter]

    /// `fixedPorts`: each DC listens on a port chosen up front, so it can be stopped and started again there.
    static func start(dataCenters ids: [Int32] = [2], fixedPorts: Bool = false,
                      _ adjust: (inout FakeTelegramWorld.Configuration) -> Void = { _ in }) async throws -> TestWorld {
        var configuration = FakeTelegramWorld.Configuration()
        adjust(&configuration)
        let world = FakeTelegramWorld(configuration: configuration)
        var dataCenters: [Int32: FakeDataCenter] = [:]
        for id in ids {
            var dcConfiguration = FakeDataCenter.Configuration(privateKey: key)
            dcConfiguration.dcId = id
            if fixedPorts {
                let probe = FakeDataCenter(configuration: FakeDataCenter.Configuration(privateKey: key))
                dcConfiguration.port = try await probe.start()
                await probe.stop()
            }
            let dataCenter = FakeDataCenter(configuration: dcConfiguration)
            await world.attach(to: dataCenter)
            _ = try await dataCenter.start()
            dataCenters[id] = dataCenter
        }
        return TestWorld(world: world, dataCenters: dataCenters)
    }

    var dc2: FakeDataCenter { dataCenters[2]! }

    func configuration(initialDataCenter: Int32 = 2) async -> TelegramClientConfiguration {
        var addresses: [Int32: DataCenterAddress] = [:]
        for (id, dataCenter) in dataCenters { addresses[id] = DataCenterAddress(host: "127.0.0.1", port: await dataCenter.port) }
        var configuration = TelegramClientConfiguration(apiId: 12345, apiHash: "0123456789abcdef", dataCenters: addresses,
                                                        rsaKeys: [Self.key.publicKey], deviceModel: "tests")
        configuration.initialDataCenter = initialDataCenter
        configuration.updateGapTimeout = .milliseconds(200)
        configuration.stateCoalescingInterval = .milliseconds(50)
        configuration.requestTimeout = .seconds(10)
        configuration.handshakeTimeout = .seconds(10)
        configuration.reconnectBaseDelay = .milliseconds(50)
        configuration.reconnectMaximumDelay = .milliseconds(200)
        configuration.reconnectAttempts = 3
        configuration.disconnectedRetryInterval = .milliseconds(500)
        return configuration
    }

    func client(initialDataCenter: Int32 = 2, state: TelegramSessionState? = nil) async -> (TelegramClient, EventLog) {
        let client = TelegramClient(configuration: await configuration(initialDataCenter: initialDataCenter), state: state)
        return (client, EventLog.recording(client))
    }

    /// A client logged in as the user with `phone` (code login; no 2FA).
    func loggedIn(phone: String, initialDataCenter: Int32 = 2) async throws -> (TelegramClient, EventLog) {
        let (client, log) = await client(initialDataCenter: initialDataCenter)
        try await client.connect()
        _ = try await client.sendCode(phone: phone)
        guard let code = await world.codeFor(phone: phone) else { throw TestFailure("no code for \(phone)") }
        guard case .loggedIn = try await client.signIn(code: code) else { throw TestFailure("not logged in") }
        return (client, log)
    }

    /// How many calls with this constructor id the DC received.
    func calls(_ constructorId: UInt32, on dc: Int32 = 2) async -> Int {
        await dataCenters[dc]!.calls.filter { $0.constructorId == constructorId }.count
    }

    func stop() async {
        for dataCenter in dataCenters.values { await dataCenter.stop() }
    }
}

/// Everything a client emitted, in order.
actor EventLog {
    private(set) var events: [TelegramEvent] = []

    static func recording(_ client: TelegramClient) -> EventLog {
        let log = EventLog()
        Task {
            for await event in client.events { await log.append(event) }
        }
        return log
    }

    func append(_ event: TelegramEvent) { events.append(event) }

    var messages: [TelegramMessage] {
        events.compactMap { if case .newMessage(let message) = $0 { message } else { nil } }
    }

    var states: [TelegramSessionState] {
        events.compactMap { if case .stateChanged(let state) = $0 { state } else { nil } }
    }

    var loggedOutReasons: [String] {
        events.compactMap { if case .loggedOut(let reason) = $0 { reason } else { nil } }
    }

    var connectionChanges: [ConnectionStatus] {
        events.compactMap { if case .connection(let status) = $0 { status } else { nil } }
    }

    var readOutbox: [(chatId: String, maxId: Int32)] {
        events.compactMap { if case .readOutbox(let chatId, let maxId) = $0 { (chatId, maxId) } else { nil } }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out waiting for: \(what)")
}
