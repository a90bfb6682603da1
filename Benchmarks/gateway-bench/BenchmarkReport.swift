import Foundation

/// Rewrites one generated section of docs/BENCHMARKS.md, between
/// `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, and stamps the machine and date.
enum BenchmarkReport {
    static func replaceSection(_ name: String, with body: String, in path: String) throws {
        let open = "<!-- bench:\(name) -->"
        let close = "<!-- /bench:\(name) -->"
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        let section = "\(open)\n\(machine())\n\n\(body)\(close)"
        if let start = text.range(of: open), let end = text.range(of: close), start.upperBound <= end.lowerBound {
            text.replaceSubrange(start.lowerBound..<end.upperBound, with: section)
        } else {
            text += "\n\(section)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let date = ISO8601DateFormatter().string(from: Date())
        return "_Measured \(date) on \(ProcessInfo.processInfo.activeProcessorCount) cores (\(cpu)), release build._"
    }
}
