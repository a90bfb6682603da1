import Crypto
import Foundation
import Testing

@testable import GatewayCore

/// Plugin state encrypted at rest: round trip, bound to its slot, tamper-evident, readable only
/// with the right key, and legacy plaintext still readable.
@Suite struct EncryptedStateTests {
    func stores() async throws -> (SQLiteStore, EncryptedPluginStateStore, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let sqlite = try SQLiteStore(path: directory.file("state.sqlite"))
        try await sqlite.migrate()
        let key = EncryptedPluginStateStore.key(from: "correct horse battery staple")
        return (sqlite, EncryptedPluginStateStore(base: sqlite, key: key), directory)
    }

    @Test func valuesRoundTripAndAreNotStoredInTheClear() async throws {
        let (sqlite, store, directory) = try await stores()
        let secret = Data("auth key bytes: 0123456789abcdef".utf8)
        try store.put(plugin: "telegram", key: "session/1", value: secret)
        #expect(try store.get(plugin: "telegram", key: "session/1") == secret)
        let raw = try #require(try sqlite.get(plugin: "telegram", key: "session/1"))
        #expect(raw.starts(with: EncryptedPluginStateStore.magic))
        #expect(raw.range(of: Data("0123456789abcdef".utf8)) == nil)
        try store.delete(plugin: "telegram", key: "session/1")
        #expect(try store.get(plugin: "telegram", key: "session/1") == nil)
        _ = directory
    }

    @Test func aValueMovedToAnotherSlotOrAlteredDoesNotDecrypt() async throws {
        let (sqlite, store, directory) = try await stores()
        try store.put(plugin: "telegram", key: "a", value: Data("one".utf8))
        let raw = try #require(try sqlite.get(plugin: "telegram", key: "a"))
        try sqlite.put(plugin: "telegram", key: "b", value: raw)
        #expect(throws: EncryptedPluginStateStore.StateError.self) { try store.get(plugin: "telegram", key: "b") }
        var altered = raw
        altered[altered.count - 1] ^= 1
        try sqlite.put(plugin: "telegram", key: "a", value: altered)
        #expect(throws: EncryptedPluginStateStore.StateError.self) { try store.get(plugin: "telegram", key: "a") }
        _ = directory
    }

    @Test func anotherKeyCannotReadAndPlaintextFromBeforeStillReads() async throws {
        let (sqlite, store, directory) = try await stores()
        try store.put(plugin: "telegram", key: "a", value: Data("one".utf8))
        let other = EncryptedPluginStateStore(base: sqlite, key: EncryptedPluginStateStore.key(from: Data(repeating: 7, count: 32).base64EncodedString()))
        #expect(throws: EncryptedPluginStateStore.StateError.self) { try other.get(plugin: "telegram", key: "a") }
        try sqlite.put(plugin: "telegram", key: "legacy", value: Data("plain".utf8))
        #expect(try store.get(plugin: "telegram", key: "legacy") == Data("plain".utf8))
        _ = directory
    }

    @Test func theHostTellsPluginsWhetherStateIsEncrypted() throws {
        let config = PluginHost.configForPlugin(.object(["api_id": .number(1)]), stateEncrypted: true)
        #expect(config == .object(["api_id": .number(1), "gateway": .object(["stateEncryption": .string("aes-256-gcm")])]))
        let plain = PluginHost.configForPlugin(.object([:]), stateEncrypted: false)
        #expect(plain == .object(["gateway": .object(["stateEncryption": .string("none")])]))
    }
}
