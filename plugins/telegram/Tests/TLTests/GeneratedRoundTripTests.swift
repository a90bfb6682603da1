import Testing
import TLRuntime

/// Property: random values of every generated constructor and function survive write → read →
/// write byte for byte (decoding goes through the boxed type's enum, so dispatch is covered too).
@Suite struct GeneratedRoundTripTests {
    static let seeds: [UInt64] = (1...20).map { $0 &* 0x2545_f491_4f6c_dd1d }

    @Test func everyTelegramAPITypeRoundTrips() throws {
        try checkAll(ApiRoundTrips.all)
        #expect(ApiRoundTrips.all.count > 2000)
    }

    @Test func everyMTProtoServiceTypeRoundTrips() throws {
        try checkAll(MTRoundTrips.all)
    }

    func checkAll(_ roundTrips: [RoundTrip]) throws {
        for roundTrip in roundTrips {
            for seed in Self.seeds {
                var random = TLRandom(seed: seed ^ UInt64(truncatingIfNeeded: roundTrip.name.hashValue & 0xffff))
                let ok = try roundTrip.check(&random)
                #expect(ok, "\(roundTrip.name) (seed \(seed)) does not round-trip")
            }
        }
    }
}
