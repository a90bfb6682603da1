import ArgumentParser
import FakeDC
import Foundation
import MTProtoCrypto

/// `fake-dc`: a fake Telegram data center on loopback for tests with independent clients (Telethon).
/// Prints one JSON line with its port and key fingerprint, then serves until killed.
@main
struct FakeDCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fake-dc", abstract: "A fake Telegram data center for tests.")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 0
    @Option(help: "The DC id this server reports.") var dcId: Int32 = 2
    @Option(help: "RSA private key (PEM); generated there if missing. Its public key is written to <path>.pub.")
    var rsaKey: String

    func run() async throws {
        let key: RSAPrivateKey
        if let pem = try? String(contentsOfFile: rsaKey, encoding: .utf8) {
            key = try RSAPrivateKey(pem: pem)
        } else {
            key = try RSAPrivateKey.generate()
            try key.pem.write(toFile: rsaKey, atomically: true, encoding: .utf8)
        }
        try key.publicKey.pem.write(toFile: rsaKey + ".pub", atomically: true, encoding: .utf8)
        var configuration = FakeDataCenter.Configuration(privateKey: key)
        configuration.host = host
        configuration.port = port
        configuration.dcId = dcId
        let dataCenter = FakeDataCenter(configuration: configuration)
        let boundPort = try await dataCenter.start()
        let fingerprint = String(UInt64(bitPattern: key.publicKey.fingerprint), radix: 16)
        let line = "{\"port\": \(boundPort), \"dcId\": \(dcId), \"fingerprint\": \"\(fingerprint)\", \"publicKey\": \"\(rsaKey).pub\"}\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
