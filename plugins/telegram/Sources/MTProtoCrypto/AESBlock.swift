/// A 16-byte AES block as two machine words, so the IGE XORs are two operations each.
struct Block {
    var low: UInt64 = 0
    var high: UInt64 = 0

    init() {}

    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        low = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        high = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
    }

    func store(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: low, as: UInt64.self)
        (pointer + 8).storeBytes(of: high, as: UInt64.self)
    }

    static func ^ (lhs: Block, rhs: Block) -> Block {
        var block = Block()
        block.low = lhs.low ^ rhs.low
        block.high = lhs.high ^ rhs.high
        return block
    }
}
