import CSQLite
import Foundation

/// A failed SQLite call, with SQLite's own message.
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
}

/// A thin wrapper over one libsqlite3 connection. Used by one thread at a time (its owner
/// serializes use: the writer queue, the reader pool, a lock), hence unchecked Sendable.
final class SQLiteConnection: @unchecked Sendable {
    private(set) var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    private var staticStatements: [UnsafeRawPointer: SQLiteStatement] = [:]

    init(path: String, readOnly: Bool = false) throws {
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: result, message: "\(path): \(message)")
        }
        sqlite3_busy_timeout(handle, 5000)
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        statements.removeAll()
        staticStatements.removeAll()
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws {
        var error: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &error)
        if result != SQLITE_OK {
            let message = error.map { String(cString: $0) } ?? "unknown"
            sqlite3_free(error)
            throw SQLiteError(code: result, message: message)
        }
    }

    /// A prepared statement, cached per SQL text.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let prepared = try compile(sql)
        statements[sql] = prepared
        return prepared
    }

    /// A prepared statement for a literal, cached by the literal's address: hot paths skip
    /// hashing the SQL text on every call.
    func prepare(_ sql: StaticString) throws -> SQLiteStatement {
        let key = UnsafeRawPointer(sql.utf8Start)
        if let cached = staticStatements[key] {
            cached.reset()
            return cached
        }
        let prepared = try compile(sql.description)
        staticStatements[key] = prepared
        return prepared
    }

    private func compile(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw lastError(result) }
        return SQLiteStatement(statement, connection: self)
    }

    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` in one read transaction: all its statements see the same snapshot.
    /// (Prepared statements: a listing runs this on every request.)
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        let begin: StaticString = "BEGIN", commit: StaticString = "COMMIT", rollback: StaticString = "ROLLBACK"
        try prepare(begin).run()
        do {
            let value = try body()
            try prepare(commit).run()
            return value
        } catch {
            try? prepare(rollback).run()
            throw error
        }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    func lastError(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }
}

private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class SQLiteStatement {
    private let statement: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ statement: OpaquePointer, connection: SQLiteConnection) {
        self.statement = statement
        self.connection = connection
    }

    deinit { sqlite3_finalize(statement) }

    func reset() {
        hasRow = false
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        var text = value
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                if let base = chars.baseAddress {
                    _ = sqlite3_bind_text(statement, index, base, Int32(chars.count), transient)
                } else {
                    _ = sqlite3_bind_text(statement, index, "", 0, nil)
                }
            }
        }
    }

    func bind(_ index: Int32, _ value: Int?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_int64(statement, index, Int64(value))
    }

    func bind(_ index: Int32, _ value: Double?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_double(statement, index, value)
    }

    func bind(_ index: Int32, _ value: Data?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        value.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(statement, index, bytes.baseAddress, Int32(bytes.count), transient)
        }
    }

    /// Binds values in order, starting at parameter 1.
    func bind(_ values: [SQLiteValue]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .null: sqlite3_bind_null(statement, index)
            case .int(let number): bind(index, number)
            case .double(let number): bind(index, number)
            case .text(let text): bind(index, text)
            case .blob(let data): bind(index, data)
            }
        }
    }

    /// Runs to completion (INSERT/UPDATE/DELETE).
    func run() throws {
        let result = sqlite3_step(statement)
        defer { sqlite3_reset(statement) }
        guard result == SQLITE_DONE || result == SQLITE_ROW else { throw connection.lastError(result) }
    }

    /// Whether the last `step` stopped on a row.
    private(set) var hasRow = false

    /// Advances to the next row; false at the end.
    func step() throws -> Bool {
        let result = sqlite3_step(statement)
        hasRow = result == SQLITE_ROW
        if hasRow { return true }
        sqlite3_reset(statement)
        guard result == SQLITE_DONE else { throw connection.lastError(result) }
        return false
    }

    /// The column's text, by length (text may contain NUL characters).
    func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        // A typed UInt8 buffer takes String's fast validating path (a raw one is decoded generically).
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column's text as UTF-8 bytes, valid only until the statement steps or resets.
    func utf8(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let text = sqlite3_column_text(statement, column) else { return nil }
        return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, column)))
    }

    func int(_ column: Int32) -> Int? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(statement, column))
    }

    func double(_ column: Int32) -> Double? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_double(statement, column)
    }

    func data(_ column: Int32) -> Data? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }
}

enum SQLiteValue {
    case null
    case int(Int)
    case double(Double)
    case text(String)
    case blob(Data)
}
