import Testing
import TLRuntime
import TelegramAPI

/// Bad bytes give a typed error naming what was expected; nothing traps.
@Suite struct TLDecodingErrorTests {
    @Test func unknownConstructorNamesTheIdAndTheExpectedType() {
        var writer = TLWriter()
        writer.write(UInt32(0xdead_beef))
        #expect(throws: TLError.unknownConstructor(id: 0xdead_beef, expected: "Message")) {
            try Api.Message(tlBytes: writer.bytes)
        }
        #expect(String(describing: TLError.unknownConstructor(id: 0xdead_beef, expected: "Message"))
            == "TL: unknown constructor 0xdeadbeef where Message was expected")
    }

    @Test func everyTruncationOfAValueFailsCleanly() throws {
        let user = Api.User.user(Api.Types.User(isSelf: true, contact: true, id: 42, accessHash: 7, firstName: "Ann",
                                                 username: "ann", phone: "15550001"))
        let bytes = user.serialized()
        for length in 0..<bytes.count {
            #expect(throws: TLError.self) { try Api.User(tlBytes: Array(bytes[..<length])) }
        }
        guard case .user(let decoded) = try Api.User(tlBytes: bytes) else { Issue.record("not a user"); return }
        #expect(decoded.isSelf && decoded.contact && !decoded.bot && decoded.firstName == "Ann" && decoded.lastName == nil)
    }

    @Test func hostileVectorCountIsRejectedBeforeAllocating() {
        var writer = TLWriter()
        writer.write(TLConstructorIDs.vector)
        writer.write(Int32.max)
        #expect(throws: TLError.vectorTooLong(count: Int(Int32.max), remaining: 0)) { try [Int64](tlBytes: writer.bytes) }
    }

    @Test func deepNestingIsBounded() {
        // textBold#6724abc4 text:RichText, nested far deeper than any real message.
        var writer = TLWriter()
        for _ in 0..<10_000 { writer.write(UInt32(0x6724_abc4)) }
        #expect(throws: TLError.nestingTooDeep(limit: TLReader.maximumDepth)) { try Api.RichText(tlBytes: writer.bytes) }
    }

    @Test func bytesLengthPrefixesAndPadding() throws {
        for length in [0, 1, 3, 4, 253, 254, 255, 70_000] {
            var writer = TLWriter()
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0) }
            writer.writeBytes(data)
            #expect(writer.bytes.count % 4 == 0)
            var reader = TLReader(writer.bytes)
            #expect(try reader.readBytes() == data)
            #expect(reader.isAtEnd)
        }
    }
}
