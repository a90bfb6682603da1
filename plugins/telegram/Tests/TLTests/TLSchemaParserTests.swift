import Testing
import TLSchema

@Suite struct TLSchemaParserTests {
    @Test func parsesFlagsGenericsVectorsAndLayer() throws {
        let schema = try TLSchemaParser.parse("""
            // comment
            ---types---
            message#38116ee0 flags:# out:flags.1?true id:int reply_to:flags.3?MessageReplyHeader entities:flags.7?Vector<MessageEntity> = Message;
            future_salts#ae500895 req_msg_id:long salts:vector<future_salt> = FutureSalts;
            ---functions---
            invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;
            messages.getDialogs#a0f4cb4f flags:# exclude_pinned:flags.0?true offset_peer:InputPeer = messages.Dialogs;
            // LAYER 201
            """)
        #expect(schema.layer == 201)
        #expect(schema.constructors.count == 2)
        let message = schema.constructors[0]
        #expect(message.id == 0x3811_6ee0)
        #expect(message.parameters[0].kind == .flagWord)
        #expect(message.parameters[1].kind == .conditional(flagWord: "flags", bit: 1, type: TLTypeReference(name: "true")))
        #expect(message.parameters[4].kind == .conditional(
            flagWord: "flags", bit: 7, type: TLTypeReference(name: "Vector", argument: [TLTypeReference(name: "MessageEntity")])))
        guard case .plain(let salts) = schema.constructors[1].parameters[1].kind else { Issue.record("salts"); return }
        #expect(salts.name == "vector" && salts.isBare && salts.argument.first?.isBare == true)
        let invoke = schema.functions[0]
        #expect(invoke.genericParameters == ["X"])
        #expect(invoke.parameters[1].kind == .plain(TLTypeReference(name: "X", isGenericCall: true)))
        #expect(schema.functions[1].namespace == "messages" && schema.functions[1].localName == "getDialogs")
        #expect(schema.functions[1].result.name == "messages.Dialogs")
    }

    @Test(arguments: [
        ("a#zz = A;", 1), ("---types---\nfoo#1 x:flags.1?int = Foo;", 2), ("\n\nfoo#1 x:int = Foo", 3), ("foo#1 x = Foo;", 1),
    ])
    func reportsTheLineOfAMistake(text: String, line: Int) {
        #expect(throws: TLSchemaParser.ParseError.self) { try TLSchemaParser.parse(text) }
        do { _ = try TLSchemaParser.parse(text) } catch let error as TLSchemaParser.ParseError {
            #expect(error.line == line)
        } catch { Issue.record("unexpected \(error)") }
    }
}
