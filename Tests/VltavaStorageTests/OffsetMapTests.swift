import NIOCore
import Testing
@testable import VltavaStorage

@Suite struct OffsetMapTests {
    func hash(_ key: String) -> OffsetMap.KeyHash { OffsetMap.KeyHash(ByteBuffer(string: key)) }

    @Test func keepsTheNewestOffsetOfEachKeyAndRefusesNewKeysWhenFull() {
        var map = OffsetMap(memoryBytes: 10 * OffsetMap.bytesPerEntry, loadFactor: 0.9, expectedKeys: 1_000)
        #expect(map.memoryBytes == 10 * OffsetMap.bytesPerEntry)
        #expect(map.capacity == 9)
        let fitted = (0..<9).map { map.put(hash("key-\($0)"), offset: Int64($0)) }
        #expect(fitted.allSatisfy { $0 })
        let refused = !map.put(hash("key-9"), offset: 9)
        let updated = map.put(hash("key-3"), offset: 30)
        #expect(refused && updated)
        #expect(map.offset(of: hash("key-3")) == 30)
        #expect(map.offset(of: hash("key-8")) == 8)
        #expect(map.offset(of: hash("key-9")) == nil)
        #expect(map.count == 9)
    }

    @Test func isSizedForTheKeysItMayMeetWithinItsLimit() {
        let small = OffsetMap(memoryBytes: 128 << 20, loadFactor: 0.9, expectedKeys: 100)
        #expect(small.capacity >= 100)
        #expect(small.memoryBytes < 200 * OffsetMap.bytesPerEntry)
        let limited = OffsetMap(memoryBytes: 1 << 20, loadFactor: 0.9, expectedKeys: 1 << 40)
        #expect(limited.memoryBytes <= 1 << 20)
        #expect(OffsetMap(memoryBytes: 0, loadFactor: 0.9, expectedKeys: 10).capacity == 1)
    }

    @Test func tellsManyKeysApart() {
        var map = OffsetMap(memoryBytes: 1 << 20, loadFactor: 0.9, expectedKeys: 20_000)
        let fitted = (0..<20_000).map { map.put(hash("user-\($0)"), offset: Int64($0) * 2) }
        #expect(fitted.allSatisfy { $0 })
        #expect((0..<20_000).allSatisfy { map.offset(of: hash("user-\($0)")) == Int64($0) * 2 })
        #expect(hash("a") != hash("b") && hash("") != hash("\0"))
    }
}
