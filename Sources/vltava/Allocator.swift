#if canImport(Glibc)
import Glibc
#endif

/// Server processes limit glibc's malloc to two arenas (its default is eight per core). Each arena keeps the
/// memory freed into it, so a burst of large requests spread over the request-handler threads left every
/// thread's arena holding its share: under `scripts/fuzz-requests` (150 s, seed 7) the broker's RSS climbed to
/// 273 MiB and kept climbing; with two arenas it levelled at 126 MiB (peak 157 MiB). Per-thread caches still
/// serve small allocations without a lock. `MALLOC_ARENA_MAX` / `GLIBC_TUNABLES` in the environment win.
enum Allocator {
    static func limitArenas() {
        #if canImport(Glibc)
        if getenv("MALLOC_ARENA_MAX") != nil { return }
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("arena_max") { return }
        // mallopt is in <malloc.h>, which the Glibc module leaves out: looked up by name (absent on other C libraries).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let arenaMax: Int32 = -8  // M_ARENA_MAX
        _ = mallopt(arenaMax, 2)
        #endif
    }
}
