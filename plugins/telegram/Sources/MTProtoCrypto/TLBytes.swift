/// TL's `bytes`/`string` serialization, which Telegram's RSA fingerprint hashes:
/// a 1-byte length (or 0xfe + 3-byte little-endian length from 254 bytes up), the bytes,
/// then zero padding to a multiple of 4.
enum TLBytes {
    static func serialize(_ bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8]
        if bytes.count < 254 {
            output = [UInt8(bytes.count)]
        } else {
            output = [254, UInt8(bytes.count & 0xff), UInt8((bytes.count >> 8) & 0xff), UInt8((bytes.count >> 16) & 0xff)]
        }
        output += bytes
        while output.count % 4 != 0 { output.append(0) }
        return output
    }
}
