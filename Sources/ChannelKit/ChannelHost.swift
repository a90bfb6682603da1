import Foundation
import GatewayABI

/// The gateway as seen from a Swift plugin: emit events, log, and keep durable state.
/// Thread-safe; every call returns without waiting on the network.
public final class ChannelHost: @unchecked Sendable {
    public enum LogLevel: UInt32, Sendable {
        case trace = 0, debug, info, warning, error
    }

    private let table: gw_host

    init(table: gw_host) {
        self.table = table
    }

    /// Emit one event. Returns false when the host refused it (malformed or unknown account).
    @discardableResult
    public func emit(_ event: PluginEvent) -> Bool {
        let json = EventWriter.encode(event)
        return json.withUnsafeBytes { bytes in
            table.emit(table.host_ctx, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count) == GW_OK
        }
    }

    /// Emit one event already encoded as JSON.
    @discardableResult
    public func emit(json: Data) -> Bool {
        json.withUnsafeBytes { bytes in
            table.emit(table.host_ctx, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count) == GW_OK
        }
    }

    public func log(_ level: LogLevel, _ message: String) {
        var message = message
        message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                table.log(table.host_ctx, gw_log_level(rawValue: level.rawValue), chars.baseAddress, chars.count)
            }
        }
    }

    /// The value stored under `key`, or nil.
    public func state(_ key: String) throws -> Data? {
        final class Sink { var value: Data? }
        let sink = Sink()
        var key = key
        let result = key.withUTF8 { keyBytes in
            keyBytes.withMemoryRebound(to: CChar.self) { keyChars in
                table.state_get(table.host_ctx, keyChars.baseAddress, keyChars.count, { context, value, length in
                    let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
                    sink.value = value.map { Data(bytes: $0, count: length) } ?? Data()
                }, Unmanaged.passUnretained(sink).toOpaque())
            }
        }
        switch result {
        case GW_OK: return sink.value
        case GW_NOT_FOUND: return nil
        default: throw ChannelError(code: "state_error", message: "host could not read state key \(key)")
        }
    }

    /// Store `value` under `key`; durable when this returns.
    public func setState(_ key: String, _ value: Data) throws {
        var key = key
        let result = key.withUTF8 { keyBytes in
            keyBytes.withMemoryRebound(to: CChar.self) { keyChars in
                value.withUnsafeBytes { valueBytes in
                    table.state_put(
                        table.host_ctx, keyChars.baseAddress, keyChars.count,
                        valueBytes.baseAddress?.assumingMemoryBound(to: CChar.self), valueBytes.count)
                }
            }
        }
        guard result == GW_OK else {
            throw ChannelError(code: "state_error", message: "host could not write state key \(key)")
        }
    }

    public func removeState(_ key: String) throws {
        var key = key
        let result = key.withUTF8 { keyBytes in
            keyBytes.withMemoryRebound(to: CChar.self) { table.state_delete(table.host_ctx, $0.baseAddress, $0.count) }
        }
        guard result == GW_OK else {
            throw ChannelError(code: "state_error", message: "host could not delete state key \(key)")
        }
    }
}
