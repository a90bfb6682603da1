/// Received bytes not yet consumed by a frame. Consumed bytes are dropped lazily
/// (all at once when everything was used, else once they are most of the storage) so
/// that feeding a large frame in small pieces stays linear.
struct IncomingBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var start = 0

    var isEmpty: Bool { start == bytes.count }

    mutating func append(_ newBytes: [UInt8]) {
        bytes += newBytes
    }

    mutating func consume(_ count: Int) {
        start += count
        if start == bytes.count {
            bytes.removeAll(keepingCapacity: bytes.count <= 1 << 16)
            start = 0
        } else if start >= 1 << 16 && start * 2 >= bytes.count {
            bytes.removeFirst(start)
            start = 0
        }
    }
}
