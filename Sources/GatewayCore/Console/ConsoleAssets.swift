import Foundation
import Hummingbird

/// The operator console's static files (Resources/console), read once at start and served from
/// memory with an ETag. The console is a plain client of the REST API and the hub: nothing here
/// knows about accounts or messages.
struct ConsoleAssets: Sendable {
    struct Asset: Sendable {
        var bytes: [UInt8]
        var contentType: String
        var etag: String
    }

    /// File name → asset; empty when the resources are missing (the console then answers 404).
    let files: [String: Asset]

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "ico": "image/x-icon",
    ]

    init(directory: URL? = Bundle.module.url(forResource: "console", withExtension: nil)) {
        var files: [String: Asset] = [:]
        let names = directory.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []
        for name in names {
            guard let directory, let type = Self.contentTypes[(name as NSString).pathExtension],
                let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
            else { continue }
            let bytes = [UInt8](data)
            files[name] = Asset(bytes: bytes, contentType: type, etag: "\"\(Self.fnv1a(bytes))\"")
        }
        self.files = files
    }

    /// FNV-1a 64: a content hash for ETags (not a security boundary).
    static func fnv1a(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
