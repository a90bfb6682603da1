import CQRencode

/// A QR code as an SVG document, encoded by libqrencode: one `<path>` of unit squares for the dark
/// modules, a 4-module quiet zone (ISO/IEC 18004), scaled by the viewer.
enum QRCodeSVG {
    /// Nil when the text does not fit in a QR code (over ~2,300 bytes at this level).
    static func render(_ text: String, title: String = "QR code") -> String? {
        // Medium error correction: survives a screen's glare; 8-bit mode keeps URLs as they are.
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let modules = UnsafeBufferPointer(start: code.pointee.data, count: width * width)
        let quiet = 4
        let size = width + 2 * quiet
        var path = ""
        path.reserveCapacity(width * width * 4)
        for y in 0..<width {
            for x in 0..<width where modules[y * width + x] & 1 == 1 {
                path += "M\(x + quiet) \(y + quiet)h1v1h-1z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(size) \(size)" shape-rendering="crispEdges" \
            role="img" aria-label="\(escape(title))"><title>\(escape(title))</title>\
            <rect width="\(size)" height="\(size)" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
