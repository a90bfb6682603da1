import ArgumentParser
import FakeDC
import Foundation
import MTProtoCrypto
import TelegramAPI

/// `fake-dc`: a fake Telegram data center on loopback for tests with independent clients (Telethon,
/// the gateway's Telegram plugin). Prints one JSON line once it listens, then serves until killed:
///
///     {"port": 40123, "dcId": 2, "fingerprint": "…", "publicKey": "<rsa-key>.pub", "dataCenters": {"2": 40123, "4": 40124}}
///
/// `--extra-dc-id N` (repeatable) starts more DCs in the same process, each on a free port of its
/// own, with the same RSA key. `--world` attaches one `FakeTelegramWorld` (users, chats, login,
/// updates) to every DC and reads JSON-line commands on stdin, answering one JSON line each on
/// stdout, in order (see `WorldControl`); end of stdin ends the process (status 0).
@main
struct FakeDCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fake-dc", abstract: "A fake Telegram data center for tests.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 0
    @Option(help: "The DC id this server reports.") var dcId: Int32 = 2
    @Option(help: "RSA private key (PEM); generated there if missing. Its public key is written to <path>.pub.")
    var rsaKey: String
    @Option(name: .customLong("extra-dc-id"), help: "Another DC id to serve in this process, on a free port (repeatable).")
    var extraDcIds: [Int32] = []
    @Flag(help: "Attach a fake Telegram world to the DCs and read JSON-line commands on stdin.")
    var world = false
    @Option(help: "With --world: the login code of every auth.sendCode (default: 5 random digits each time).")
    var loginCode: String?

    func validate() throws {
        let ids = [dcId] + extraDcIds
        guard Set(ids).count == ids.count else { throw ValidationError("DC ids must be distinct: \(ids)") }
        guard ids.allSatisfy({ $0 > 0 }) else { throw ValidationError("DC ids must be positive: \(ids)") }
        if let loginCode, loginCode.isEmpty || !loginCode.allSatisfy(\.isASCII) || !loginCode.allSatisfy(\.isNumber) {
            throw ValidationError("--login-code must be digits")
        }
        if loginCode != nil && !world { throw ValidationError("--login-code needs --world") }
    }

    func run() async throws {
        let key: RSAPrivateKey
        if let pem = try? String(contentsOfFile: rsaKey, encoding: .utf8) {
            key = try RSAPrivateKey(pem: pem)
        } else {
            key = try RSAPrivateKey.generate()
            try key.pem.write(toFile: rsaKey, atomically: true, encoding: .utf8)
        }
        try key.publicKey.pem.write(toFile: rsaKey + ".pub", atomically: true, encoding: .utf8)

        var dataCenters: [FakeDataCenter] = []
        var ports: [Int32: Int] = [:]
        for (index, id) in ([dcId] + extraDcIds).enumerated() {
            var configuration = FakeDataCenter.Configuration(privateKey: key)
            configuration.host = host
            configuration.port = index == 0 ? port : 0
            configuration.dcId = id
            let dataCenter = FakeDataCenter(configuration: configuration)
            ports[id] = try await dataCenter.start()
            dataCenters.append(dataCenter)
        }

        // Each DC's help.getConfig lists every DC of the process (clients such as Telethon look a
        // migration's DC up there).
        if dataCenters.count > 1 {
            for (dataCenter, thisDc) in zip(dataCenters, [dcId] + extraDcIds) {
                let (host, ports) = (host, ports)
                await dataCenter.on(Api.Functions.help.GetConfig.self) { _, _ in
                    .config(FakeDataCenter.configuration(thisDc: thisDc, host: host, ports: ports))
                }
            }
        }

        var control: WorldControl?
        if world {
            var configuration = FakeTelegramWorld.Configuration()
            configuration.fixedLoginCode = loginCode
            let world = FakeTelegramWorld(configuration: configuration)
            for dataCenter in dataCenters { await world.attach(to: dataCenter) }
            control = WorldControl(world: world, dataCenters: dataCenters)
        }

        let fingerprint = String(UInt64(bitPattern: key.publicKey.fingerprint), radix: 16)
        let dcs = ([dcId] + extraDcIds).map { "\"\($0)\": \(ports[$0]!)" }.joined(separator: ", ")
        let line = "{\"port\": \(ports[dcId]!), \"dcId\": \(dcId), \"fingerprint\": \"\(fingerprint)\", "
            + "\"publicKey\": \(WorldControl.jsonString(rsaKey + ".pub")), \"dataCenters\": {\(dcs)}}"
        WorldControl.writeLine(line)

        guard let control else {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        for await command in WorldControl.standardInputLines() {
            WorldControl.writeLine(await control.answer(command))
        }
        for dataCenter in dataCenters { await dataCenter.stop() }
    }
}
