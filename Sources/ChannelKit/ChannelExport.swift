import Foundation
import GatewayABI

/// Builds the C descriptor for a `Channel` type. Each plugin .so links its own copy of
/// ChannelKit, so one registered type per process image is all this needs to hold.
public enum ChannelExport {
    nonisolated(unsafe) private static var channelType: (any Channel.Type)?
    nonisolated(unsafe) private static var descriptorPointer: UnsafeMutablePointer<gw_channel>?
    private static let lock = NSLock()

    /// The descriptor to return from `gw_channel_entry`. Idempotent.
    public static func descriptor<C: Channel>(for type: C.Type) -> UnsafeRawPointer {
        lock.lock()
        defer { lock.unlock() }
        if let descriptorPointer { return UnsafeRawPointer(descriptorPointer) }
        channelType = type
        let capabilities = (try? String(decoding: JSONEncoder().encode(type.operations), as: UTF8.self)) ?? "[]"
        let pointer = UnsafeMutablePointer<gw_channel>.allocate(capacity: 1)
        pointer.initialize(to: gw_channel(
            struct_size: MemoryLayout<gw_channel>.size,
            abi_major: UInt32(GW_ABI_MAJOR),
            abi_minor: UInt32(GW_ABI_MINOR),
            name: UnsafePointer(strdup(type.name)),
            version: UnsafePointer(strdup(type.version)),
            capabilities: UnsafePointer(strdup(capabilities)),
            open: channelKitOpen,
            invoke: channelKitInvoke,
            close: channelKitClose))
        descriptorPointer = pointer
        return UnsafeRawPointer(pointer)
    }

    static func makeChannel(host: ChannelHost, config: JSONValue) throws -> any Channel {
        lock.lock()
        let type = channelType
        lock.unlock()
        guard let type else { throw ChannelError(code: "not_registered", message: "no channel type registered") }
        return try type.init(host: host, config: config)
    }
}

/// One open instance: the channel plus the bookkeeping that makes close() wait for replies.
final class ChannelInstance: @unchecked Sendable {
    let channel: any Channel
    let outstanding = DispatchGroup()
    private let lock = NSLock()
    private var closing = false

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Registers a request unless the instance is closing.
    func begin() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if closing { return false }
        outstanding.enter()
        return true
    }

    func markClosing() {
        lock.lock()
        closing = true
        lock.unlock()
    }
}

/// Calls a reply function exactly once with an encodable value or an error.
struct Reply: @unchecked Sendable {
    let function: gw_reply_fn
    let context: UnsafeMutableRawPointer?

    func send(status: gw_reply_status, json: Data) {
        json.withUnsafeBytes { bytes in
            function(context, status, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
    }

    func success(_ value: any Encodable) {
        do {
            send(status: GW_REPLY_OK, json: try JSONEncoder().encode(value))
        } catch {
            failure(ChannelError(code: "encoding_failed", message: "could not encode the reply: \(error)"))
        }
    }

    func failure(_ error: Error) {
        let channelError = (error as? ChannelError) ?? ChannelError(code: "channel_error", message: "\(error)")
        send(status: GW_REPLY_ERROR, json: (try? JSONEncoder().encode(channelError)) ?? Data("{}".utf8))
    }
}

private func copyBytes(_ pointer: UnsafePointer<CChar>?, _ length: Int) -> Data {
    guard let pointer, length > 0 else { return Data() }
    return Data(bytes: pointer, count: length)
}

private func writeError(_ message: String, into buffer: UnsafeMutablePointer<CChar>?, capacity: Int) {
    guard let buffer, capacity > 0 else { return }
    let bytes = Array(message.utf8.prefix(capacity - 1))
    for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
    buffer[bytes.count] = 0
}

private func channelKitOpen(
    host: UnsafePointer<gw_host>?, configJSON: UnsafePointer<CChar>?, configLength: Int,
    instanceOut: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, errorBuffer: UnsafeMutablePointer<CChar>?,
    errorCapacity: Int
) -> Int32 {
    guard let host, let instanceOut else {
        writeError("open called without a host table", into: errorBuffer, capacity: errorCapacity)
        return GW_ERROR
    }
    guard host.pointee.abi_major == GW_ABI_MAJOR, host.pointee.struct_size >= MemoryLayout<gw_host>.size else {
        writeError(
            "host ABI \(host.pointee.abi_major).\(host.pointee.abi_minor) (struct_size \(host.pointee.struct_size)) "
                + "does not provide ABI \(GW_ABI_MAJOR).\(GW_ABI_MINOR)", into: errorBuffer, capacity: errorCapacity)
        return GW_ERROR
    }
    do {
        let configData = copyBytes(configJSON, configLength)
        let config = configData.isEmpty ? JSONValue.object([:]) : try JSONDecoder().decode(JSONValue.self, from: configData)
        let channel = try ChannelExport.makeChannel(host: ChannelHost(table: host.pointee), config: config)
        let instance = ChannelInstance(channel: channel)
        if instance.begin() {
            Task.detached {
                await channel.start()
                instance.outstanding.leave()
            }
        }
        instanceOut.pointee = Unmanaged.passRetained(instance).toOpaque()
        return GW_OK
    } catch {
        writeError("\((error as? ChannelError)?.message ?? "\(error)")", into: errorBuffer, capacity: errorCapacity)
        return GW_ERROR
    }
}

private func channelKitInvoke(
    instancePointer: UnsafeMutableRawPointer?, requestJSON: UnsafePointer<CChar>?, requestLength: Int,
    replyFunction: gw_reply_fn?, replyContext: UnsafeMutableRawPointer?
) {
    guard let replyFunction else { return }
    let reply = Reply(function: replyFunction, context: replyContext)
    guard let instancePointer else {
        reply.failure(ChannelError(code: "no_instance", message: "invoke called without an instance"))
        return
    }
    let instance = Unmanaged<ChannelInstance>.fromOpaque(instancePointer).takeUnretainedValue()
    let requestData = copyBytes(requestJSON, requestLength)
    guard instance.begin() else {
        reply.failure(ChannelError(code: "closing", message: "the channel is shutting down"))
        return
    }
    Task.detached {
        defer { instance.outstanding.leave() }
        do {
            let request = try ChannelRequest(json: requestData)
            guard type(of: instance.channel).operations.contains(request.op) else {
                throw ChannelError(code: "unsupported_operation", message: "this channel does not support \"\(request.op)\"")
            }
            reply.success(try await instance.channel.handle(request))
        } catch {
            reply.failure(error)
        }
    }
}

private func channelKitClose(instancePointer: UnsafeMutableRawPointer?) {
    guard let instancePointer else { return }
    let instance = Unmanaged<ChannelInstance>.fromOpaque(instancePointer).takeRetainedValue()
    instance.markClosing()
    // Stop the channel first so long-running work ends, then wait until every outstanding
    // reply went out. The host calls close() off the cooperative thread pool, so blocking is safe.
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        await instance.channel.shutdown()
        done.signal()
    }
    done.wait()
    instance.outstanding.wait()
}
