import Testing
import VltavaClient

@Suite struct TimestampsTests {
    @Test func timestampsRoundTrip() {
        #expect(Timestamps.iso(0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamps.iso(1_706_702_400_123) == "2024-01-31T12:00:00.123Z")
        #expect(Timestamps.parse("2024-01-31T12:00:00.123Z") == 1_706_702_400_123)
        #expect(Timestamps.parse("2024-01-31T13:00:00+01:00") == 1_706_702_400_000)
        #expect(Timestamps.parse("2024-01-31") == 1_706_659_200_000)
        #expect(Timestamps.parse("2024-01-31T12:00:00.1234567Z") == 1_706_702_400_123)
        #expect(Timestamps.parse("1706702400000") == 1_706_702_400_000)
        #expect(Timestamps.parse("2024-13-01") == nil)
        #expect(Timestamps.parse("yesterday") == nil)
        #expect(Timestamps.parse("2024-01-31T12") == nil)
        #expect(Timestamps.iso(-1) == "-")
    }

    @Test func civilDatesRoundTrip() {
        for days: Int64 in [-719_468, -1, 0, 59, 60, 11_016, 19_753, 2_932_896] {
            let (year, month, day) = CivilDate.fromDays(days)
            #expect(CivilDate.toDays(year: year, month: month, day: day) == days)
        }
        #expect(CivilDate.fromDays(19_753) == (2024, 1, 31))
    }
}
