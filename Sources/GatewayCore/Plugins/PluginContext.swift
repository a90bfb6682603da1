import Foundation
import GatewayABI
import GatewayModel
import Logging

/// The host side of one loaded plugin: what its host-table callbacks reach through `host_ctx`.
final class PluginContext: @unchecked Sendable {
    let name: String
    let platform: String
    let logger: Logger
    let state: any PluginStateStore
    let pipeline: IngestPipeline

    init(name: String, platform: String, logger: Logger, state: any PluginStateStore, pipeline: IngestPipeline) {
        self.name = name
        self.platform = platform
        self.logger = logger
        self.state = state
        self.pipeline = pipeline
    }

    func emit(_ json: Data) -> Int32 {
        do {
            let event = try JSONDecoder().decode(PluginEvent.self, from: json)
            pipeline.submit(event, channel: platform)
            return GW_OK
        } catch {
            logger.warning("plugin \(name) emitted a malformed event: \(String(describing: error))")
            return GW_ERROR
        }
    }

    /// A plugin state key: UTF-8, 1–1024 bytes.
    func key(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> String? {
        guard let pointer, length > 0, length <= 1024 else {
            logger.warning("plugin \(name) used a state key of \(length) bytes (1–1024 allowed)")
            return nil
        }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard let key = String(validating: bytes, as: UTF8.self) else {
            logger.warning("plugin \(name) used a state key that is not UTF-8")
            return nil
        }
        return key
    }
}

/// The host table handed to every plugin; callbacks find their plugin through `host_ctx`.
enum HostTable {
    static func make(context: PluginContext) -> gw_host {
        gw_host(
            struct_size: MemoryLayout<gw_host>.size,
            abi_major: UInt32(GW_ABI_MAJOR),
            abi_minor: UInt32(GW_ABI_MINOR),
            host_ctx: Unmanaged.passUnretained(context).toOpaque(),
            emit: hostEmit,
            log: hostLog,
            state_get: hostStateGet,
            state_put: hostStatePut,
            state_delete: hostStateDelete)
    }
}

private func context(_ pointer: UnsafeMutableRawPointer?) -> PluginContext {
    Unmanaged<PluginContext>.fromOpaque(pointer!).takeUnretainedValue()
}

private func hostEmit(_ hostContext: UnsafeMutableRawPointer?, _ json: UnsafePointer<CChar>?, _ length: Int) -> Int32 {
    guard let json, length > 0 else { return GW_ERROR }
    return context(hostContext).emit(Data(bytes: json, count: length))
}

private func hostLog(
    _ hostContext: UnsafeMutableRawPointer?, _ level: gw_log_level, _ message: UnsafePointer<CChar>?, _ length: Int
) {
    let plugin = context(hostContext)
    let text = message.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
    let swiftLevel: Logger.Level =
        switch level {
        case GW_LOG_TRACE: .trace
        case GW_LOG_DEBUG: .debug
        case GW_LOG_INFO: .info
        case GW_LOG_WARNING: .warning
        default: .error
        }
    plugin.logger.log(level: swiftLevel, "\(text)")
}

private func hostStateGet(
    _ hostContext: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?, _ keyLength: Int, _ sink: gw_value_sink?,
    _ sinkContext: UnsafeMutableRawPointer?
) -> Int32 {
    let plugin = context(hostContext)
    guard let key = plugin.key(key, keyLength), let sink else { return GW_ERROR }
    do {
        guard let value = try plugin.state.get(plugin: plugin.name, key: key) else { return GW_NOT_FOUND }
        value.withUnsafeBytes { bytes in
            sink(sinkContext, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        return GW_OK
    } catch {
        plugin.logger.error("state_get(\(key)) failed: \(error)")
        return GW_ERROR
    }
}

private func hostStatePut(
    _ hostContext: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?, _ keyLength: Int,
    _ value: UnsafePointer<CChar>?, _ valueLength: Int
) -> Int32 {
    let plugin = context(hostContext)
    guard let key = plugin.key(key, keyLength) else { return GW_ERROR }
    let data = value.map { Data(bytes: $0, count: valueLength) } ?? Data()
    do {
        try plugin.state.put(plugin: plugin.name, key: key, value: data)
        return GW_OK
    } catch {
        plugin.logger.error("state_put(\(key)) failed: \(error)")
        return GW_ERROR
    }
}

private func hostStateDelete(_ hostContext: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?, _ keyLength: Int) -> Int32 {
    let plugin = context(hostContext)
    guard let key = plugin.key(key, keyLength) else { return GW_ERROR }
    do {
        try plugin.state.delete(plugin: plugin.name, key: key)
        return GW_OK
    } catch {
        plugin.logger.error("state_delete(\(key)) failed: \(error)")
        return GW_ERROR
    }
}
