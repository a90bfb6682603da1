import MTProto

enum RPCErrorFixture {
    static func make(_ code: Int32, _ message: String) -> RPCError { RPCError(code: code, message: message) }
}
