import Foundation
import Testing

@testable import GatewayCore

/// The console's server side: QR codes from libqrencode and the embedded static files.
/// (The console itself is tested in a real browser: Tests/console.)
@Suite struct ConsoleTests {
    @Test func qrCodesAreSquareSVGsWithAQuietZone() throws {
        // 6 bytes at level M fit version 1 (up to 14): 21 modules, plus 4 quiet modules on each side.
        let svg = try #require(QRCodeSVG.render("tg://x", title: "a <b> & \"c\""))
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 29 29\""))
        #expect(svg.contains("<title>a &lt;b> &amp; &quot;c&quot;</title>"))
        // Every finder pattern's corner module is dark: the top-left one sits at (4, 4).
        #expect(svg.contains("M4 4h1v1h-1z"))
        // A login URL (60 bytes) needs version 4 (33 modules); too much text is refused, not truncated.
        let long = try #require(QRCodeSVG.render("tg://login?token=" + String(repeating: "A", count: 43)))
        #expect(long.contains("viewBox=\"0 0 41 41\""))
        #expect(QRCodeSVG.render(String(repeating: "x", count: 4_000)) == nil)
    }

    @Test func theConsoleFilesAreEmbeddedWithTheirTypes() throws {
        let assets = ConsoleAssets()
        let expected = [
            "index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
            "socket.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml",
        ]
        for (name, type) in expected {
            let asset = try #require(assets.files[name], "\(name) is not embedded")
            #expect(asset.contentType == type)
            #expect(!asset.bytes.isEmpty)
            #expect(asset.etag == "\"\(ConsoleAssets.fnv1a(asset.bytes))\"")
        }
        #expect(Set(assets.files.keys) == Set(expected.keys))
        #expect(ConsoleAssets(directory: URL(fileURLWithPath: "/nonexistent")).files.isEmpty)
    }
}
