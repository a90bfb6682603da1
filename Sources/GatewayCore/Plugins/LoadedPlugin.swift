import Foundation
import GatewayABI
import GatewayModel
import Synchronization

/// A plugin that passed every check and is open: its descriptor, instance and host table.
final class LoadedPlugin: @unchecked Sendable {
    let name: String
    let platform: String
    let capabilities: [String]
    let context: PluginContext
    private let descriptor: UnsafePointer<gw_channel>
    private let instance: UnsafeMutableRawPointer?
    /// The host table must outlive the instance: it is read by the plugin until close() returns.
    private let hostTable: UnsafeMutablePointer<gw_host>
    private let closed = Atomic<Bool>(false)

    init(
        name: String, platform: String, capabilities: [String], context: PluginContext,
        descriptor: UnsafePointer<gw_channel>, instance: UnsafeMutableRawPointer?, hostTable: UnsafeMutablePointer<gw_host>
    ) {
        self.name = name
        self.platform = platform
        self.capabilities = capabilities
        self.context = context
        self.descriptor = descriptor
        self.instance = instance
        self.hostTable = hostTable
    }

    /// Send one request; the reply arrives through `PendingReplies`.
    func invoke(_ request: Data, token: UInt) {
        request.withUnsafeBytes { bytes in
            descriptor.pointee.invoke(
                instance, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, deliverReply,
                UnsafeMutableRawPointer(bitPattern: token))
        }
    }

    /// Close once; blocks until the plugin delivered its outstanding replies. Call off the
    /// cooperative pool. The library itself is never dlclose'd (Swift plugins cannot unload).
    func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        descriptor.pointee.close(instance)
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }
}

/// Invocations waiting for their reply, keyed by a token that travels as `reply_ctx`. A token
/// (not a pointer) means a buggy plugin replying twice or late cannot touch freed memory.
enum PendingReplies {
    typealias Continuation = CheckedContinuation<Result<Data, ChannelError>, Never>

    private static let state = Mutex<(next: UInt, waiting: [UInt: Continuation])>((1, [:]))

    static func register(_ continuation: Continuation) -> UInt {
        state.withLock { state in
            let token = state.next
            state.next += 1
            state.waiting[token] = continuation
            return token
        }
    }

    /// Resume the invocation once; false if it was already answered (or timed out).
    @discardableResult
    static func complete(_ token: UInt, with result: Result<Data, ChannelError>) -> Bool {
        guard let continuation = state.withLock({ $0.waiting.removeValue(forKey: token) }) else { return false }
        continuation.resume(returning: result)
        return true
    }
}

private func deliverReply(
    _ context: UnsafeMutableRawPointer?, _ status: gw_reply_status, _ payload: UnsafePointer<CChar>?, _ length: Int
) {
    let token = UInt(bitPattern: context)
    let data = payload.map { Data(bytes: $0, count: length) } ?? Data()
    let result: Result<Data, ChannelError>
    if status == GW_REPLY_OK {
        result = .success(data)
    } else {
        let error = (try? JSONDecoder().decode(ChannelError.self, from: data))
            ?? ChannelError(code: "channel_error", message: String(decoding: data, as: UTF8.self))
        result = .failure(error)
    }
    if !PendingReplies.complete(token, with: result) {
        FileHandle.standardError.write(Data("plugin replied to an invocation that was already answered (token \(token))\n".utf8))
    }
}
