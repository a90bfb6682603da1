/// Big-endian byte strings as OpenSSL prints them: no leading zero bytes.
extension Array where Element == UInt8 {
    var strippingLeadingZeros: [UInt8] { Array(drop { $0 == 0 }) }
}
