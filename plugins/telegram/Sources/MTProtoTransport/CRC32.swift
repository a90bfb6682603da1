import CZlib

/// zlib's CRC-32 (the IEEE polynomial the full transport uses).
enum CRC32 {
    static func checksum(_ bytes: [UInt8], in range: Range<Int>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = crc32(0, nil, 0)
            var offset = range.lowerBound
            // zlib takes a 32-bit length; frames are far smaller, but stay correct anyway.
            while offset < range.upperBound {
                let chunk = min(range.upperBound - offset, Int(UInt32.max))
                crc = crc32(crc, buffer.baseAddress! + offset, UInt32(chunk))
                offset += chunk
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
