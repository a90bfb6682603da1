import TLSchema

/// Emits test support: a `random(_:depth:)` for every constructor, boxed type and (non-generic)
/// function, and one round-trip check per constructor and function, so a property test can write,
/// read and re-write random values of every generated type.
struct RandomEmitter {
    let emitter: SwiftEmitter
    var names: SwiftNames { emitter.names }
    var mapper: SwiftTypeMapper { emitter.mapper }

    func files(header: String, chunkSize: Int = 200) throws -> [(name: String, contents: String)] {
        let schema = emitter.schema
        var blocks: [(code: String, check: String)] = []
        for constructor in schema.constructors {
            let boxed = names.boxedType(constructor.result.name)
            let value = "\(boxed).\(SwiftNames.enumCase(constructor.name))(\(names.constructorType(constructor.name)).random(&g, depth: 0))"
            blocks.append((try structRandom(constructor), "RoundTrip(name: \"\(constructor.name)\") { g in try RoundTrip.check(\(value)) }"))
        }
        for typeName in emitter.boxedTypeNames { blocks.append((enumRandom(typeName), "")) }
        for function in schema.functions where function.genericParameters.isEmpty {
            let value = "\(names.functionType(function.name)).random(&g, depth: 0)"
            blocks.append((try structRandom(function), "RoundTrip(name: \"\(function.name)\") { g in try RoundTrip.check(\(value)) }"))
        }
        var files: [(name: String, contents: String)] = []
        var chunkNames: [String] = []
        for (index, start) in stride(from: 0, to: blocks.count, by: chunkSize).enumerated() {
            let chunk = blocks[start..<min(start + chunkSize, blocks.count)]
            let listName = "chunk\(index + 1)"
            chunkNames.append(listName)
            let checks = chunk.map(\.check).filter { !$0.isEmpty }
            let contents = header + "import TLRuntime\nimport \(moduleName)\n\n" + chunk.map(\.code).joined(separator: "\n")
                + "\nextension \(names.root)RoundTrips {\n    static let \(listName): [RoundTrip] = [\n"
                + checks.map { "        \($0),\n" }.joined() + "    ]\n}\n"
            files.append((name: "\(names.root)Random\(index + 1).swift", contents: contents))
        }
        files.append((name: "\(names.root)RoundTrips.swift", contents: header + """
            /// Every generated constructor and non-generic function of `\(names.root)`, as a round-trip check.
            enum \(names.root)RoundTrips {
                static var all: [RoundTrip] { \(chunkNames.joined(separator: " + ")) }
            }

            """))
        return files
    }

    var moduleName: String = ""

    func randomValue(_ type: TLTypeReference) throws -> String {
        switch type.name {
        case "int": return "g.int32()"
        case "long": return "g.int64()"
        case "double": return "g.double()"
        case "string": return "g.string()"
        case "bytes", "Object": return "g.bytes()"
        case "int128": return "g.int128()"
        case "int256": return "g.int256()"
        case "Bool", "true": return "g.bool()"
        case "Vector", "vector":
            return "(0..<g.count(depth: depth)).map { _ in \(try randomValue(type.argument[0])) }"
        default:
            if let bare = mapper.bareConstructor(type) { return "\(names.constructorType(bare.name)).random(&g, depth: depth + 1)" }
            return "\(try mapper.swiftType(type)).random(&g, depth: depth + 1)"
        }
    }

    func structRandom(_ combinator: TLCombinator) throws -> String {
        let type = combinator.isFunction ? names.functionType(combinator.name) : names.constructorType(combinator.name)
        var out = "extension \(type) {\n    static func random(_ g: inout TLRandom, depth: Swift.Int) -> Self {\n"
        var bits: [String: String] = [:]
        var arguments: [String] = []
        for parameter in combinator.parameters {
            let label = SwiftNames.fieldBare(parameter.name)
            switch parameter.kind {
            case .flagWord: continue
            case .plain(let type):
                arguments.append("\(label): \(try randomValue(type))")
            case .conditional(let word, let bit, let type):
                let key = "\(word)_\(bit)"
                if bits[key] == nil {
                    bits[key] = "bit_\(key)"
                    out += "        let bit_\(key) = g.flag(depth: depth)\n"
                }
                if type.name == "true" {
                    arguments.append("\(label): bit_\(key)")
                } else {
                    arguments.append("\(label): bit_\(key) ? \(try randomValue(type)) : nil")
                }
            }
        }
        out += "        return Self(\(arguments.joined(separator: ", ")))\n    }\n}\n"
        return out
    }

    func enumRandom(_ typeName: String) -> String {
        let constructors = mapper.constructorsByType[typeName] ?? []
        let type = names.boxedType(typeName)
        // Past the depth limit, pick the constructor with the fewest required nested objects.
        let simplest = constructors.indices.min { requiredObjects(constructors[$0]) < requiredObjects(constructors[$1]) } ?? 0
        var out = "extension \(type) {\n    static func random(_ g: inout TLRandom, depth: Swift.Int) -> Self {\n"
        out += "        switch depth > TLRandom.maximumDepth ? \(simplest) : g.choose(\(constructors.count)) {\n"
        for (index, constructor) in constructors.enumerated() {
            let label = index == constructors.count - 1 ? "default" : "case \(index)"
            out += "        \(label): return .\(SwiftNames.enumCase(constructor.name))(\(names.constructorType(constructor.name)).random(&g, depth: depth))\n"
        }
        out += "        }\n    }\n}\n"
        return out
    }

    func requiredObjects(_ constructor: TLCombinator) -> Int {
        constructor.parameters.filter {
            guard case .plain(let type) = $0.kind else { return false }
            return !TLTypeReference.primitives.contains(type.name) && !["Bool", "Vector", "vector", "Object"].contains(type.name)
        }.count
    }
}
