/// Why bytes could not be read as TL: always names what was expected, never traps.
public enum TLError: Error, Equatable, Sendable, CustomStringConvertible {
    case unexpectedEnd(needed: Int, remaining: Int)
    case unknownConstructor(id: UInt32, expected: String)
    case vectorTooLong(count: Int, remaining: Int)
    case nestingTooDeep(limit: Int)

    public var description: String {
        switch self {
        case .unexpectedEnd(let needed, let remaining):
            return "TL: needed \(needed) more bytes, \(remaining) left"
        case .unknownConstructor(let id, let expected):
            return "TL: unknown constructor 0x\(String(id, radix: 16, uppercase: false)) where \(expected) was expected"
        case .vectorTooLong(let count, let remaining):
            return "TL: vector of \(count) elements cannot fit in the \(remaining) bytes left"
        case .nestingTooDeep(let limit):
            return "TL: objects nested deeper than \(limit)"
        }
    }
}
