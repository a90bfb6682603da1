import TLSchema

/// Maps TL type expressions to Swift types and to the code that writes and reads them.
struct SwiftTypeMapper {
    let names: SwiftNames
    /// Constructors by their full name, for bare references (`vector<future_salt>`, `%IpPort`).
    let constructorsByName: [String: TLCombinator]
    let constructorsByType: [String: [TLCombinator]]

    struct UnsupportedType: Error, CustomStringConvertible {
        let reference: TLTypeReference
        var description: String { "tl-gen: cannot map type '\(reference.name)'" }
    }

    func swiftType(_ type: TLTypeReference) throws -> String {
        if type.isGenericCall { return type.name }
        switch type.name {
        case "int": return "Swift.Int32"
        case "long": return "Swift.Int64"
        case "double": return "Swift.Double"
        case "string": return "Swift.String"
        case "bytes": return "[Swift.UInt8]"
        case "int128": return "TLInt128"
        case "int256": return "TLInt256"
        case "Bool", "true": return "Swift.Bool"
        case "Object": return "[Swift.UInt8]"
        case "Vector", "vector":
            guard let element = type.argument.first else { throw UnsupportedType(reference: type) }
            return "[\(try swiftType(element))]"
        default:
            if let constructor = bareConstructor(type) { return names.constructorType(constructor.name) }
            guard constructorsByType[type.name] != nil else { throw UnsupportedType(reference: type) }
            return names.boxedType(type.name)
        }
    }

    /// The constructor a bare reference means: a lowercase constructor name, or `%Type` of a one-constructor type.
    func bareConstructor(_ type: TLTypeReference) -> TLCombinator? {
        guard type.isBare, type.name != "vector" else { return nil }
        if let constructor = constructorsByName[type.name] { return constructor }
        if let constructors = constructorsByType[type.name], constructors.count == 1 { return constructors[0] }
        return nil
    }

    /// Statement(s) writing `value` (an expression) to `writer`.
    func write(_ type: TLTypeReference, _ value: String, writer: String = "writer") throws -> String {
        if type.isGenericCall { return "\(value).serialize(to: &\(writer))" }
        switch type.name {
        case "int", "long", "double", "string", "Bool", "int128", "int256": return "\(writer).write(\(value))"
        case "bytes": return "\(writer).writeBytes(\(value))"
        case "Object": return "\(writer).writeRaw(\(value))"
        case "Vector", "vector":
            guard let element = type.argument.first else { throw UnsupportedType(reference: type) }
            let method = type.name == "Vector" ? "writeVector" : "writeBareVector"
            return "\(writer).\(method)(\(value)) { writer, element in \(try write(element, "element")) }"
        default:
            if bareConstructor(type) != nil { return "\(value).serializeBare(to: &\(writer))" }
            return "\(value).serialize(to: &\(writer))"
        }
    }

    /// An expression reading one value from `reader`.
    func read(_ type: TLTypeReference, reader: String = "reader") throws -> String {
        switch type.name {
        case "int": return "try \(reader).readInt32()"
        case "long": return "try \(reader).readInt64()"
        case "double": return "try \(reader).readDouble()"
        case "string": return "try \(reader).readString()"
        case "bytes": return "try \(reader).readBytes()"
        case "int128": return "try \(reader).readInt128()"
        case "int256": return "try \(reader).readInt256()"
        case "Bool": return "try \(reader).readBool()"
        case "Object": return "\(reader).readRemaining()"
        case "Vector", "vector":
            guard let element = type.argument.first else { throw UnsupportedType(reference: type) }
            let method = type.name == "Vector" ? "readVector" : "readBareVector"
            return "try \(reader).\(method) { reader in \(try read(element)) }"
        default:
            if let constructor = bareConstructor(type) {
                return "try \(names.constructorType(constructor.name))(bareFrom: &\(reader))"
            }
            return "try \(try swiftType(type))(from: &\(reader))"
        }
    }
}
