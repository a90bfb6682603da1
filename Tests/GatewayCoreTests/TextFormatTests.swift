import Foundation
import GatewayModel
import Testing

/// The model's own date and UUID text (written without Foundation on the hot paths) against
/// Foundation's calendar and UUID parser.
@Suite struct TextFormatTests {
    @Test func datesMatchTheGregorianCalendarToTheMillisecond() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        // Foundation's Gregorian calendar is Julian before October 1582; ISO 8601 is proleptic
        // Gregorian, so the reference covers 1583 on and the early years are checked by value.
        #expect(ISO8601.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        #expect(ISO8601.format(Date(timeIntervalSince1970: -12_219_292_800)) == "1582-10-15T00:00:00.000Z")
        let fixed: [Double] = [0, -0.0004, -0.0005, 0.0005, 0.9995, 59.9996, 951_782_400, 1_709_208_000.5, -86_400.001,
                               253_402_300_799.999, 1_764_000_000.123]
        let random = (0..<20_000).map { _ in Double.random(in: -12_212_553_600...253_402_300_799, using: &generator) }
        for value in fixed + random {
            // A Date counts from 2001, so what it gives back is the reference, not `value` itself.
            let seconds = Date(timeIntervalSince1970: value).timeIntervalSince1970
            let milliseconds = (seconds * 1000).rounded()
            let whole = (milliseconds / 1000).rounded(.down)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                                from: Date(timeIntervalSince1970: whole))
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.year!, parts.month!, parts.day!,
                                  parts.hour!, parts.minute!, parts.second!, Int(milliseconds - whole * 1000))
            #expect(ISO8601.format(Date(timeIntervalSince1970: seconds)) == expected, "\(seconds)")
        }
        // Round trip through the parser.
        let date = Date(timeIntervalSince1970: 1_764_000_000.123)
        #expect(ISO8601.parse(ISO8601.format(date)).map { abs($0.timeIntervalSince(date)) < 0.0005 } == true)
    }

    @Test func uuidsMatchFoundation() {
        for _ in 0..<5_000 {
            let id = UUID()
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID(text: id.uuidString) == id)
            #expect(UUID(text: id.lowercasedString) == id)
        }
        for bad in ["", "0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6", "0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6dd", "0190a3c4x5e6f-7a8b-9c0d-1e2f3a4b5c6d",
                    "0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6g", "0190a3c45e6f-7a8b-9c0d-1e2f3a4b5c6d0", "{0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b}",
                    "0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6é"] {
            #expect(UUID(text: bad) == nil, "\(bad)")
            #expect(UUID(uuidString: bad) == nil, "Foundation accepts \(bad)")
        }
    }
}
