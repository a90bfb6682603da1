#if canImport(Glibc)
import Glibc
#endif

/// glibc hands freed memory at the top of a heap back to the kernel once 128 KiB are free, and
/// serves blocks of 128 KiB and more with their own mmap: an API listing's buffers (a page of
/// chats is ~40 KB, of 200 messages ~150 KB) then fault their pages in again on every request
/// (~3 page faults, ~3% of a chats request's CPU). Keeping up to 16 MiB free per heap and
/// serving blocks up to 4 MiB from the heap costs at most that much idle RSS.
public enum MallocTuning {
    /// Call once at process start, before the server runs.
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        // <malloc.h> is not part of Swift's Glibc module: mallopt is looked up, with its
        // parameter numbers from that header.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
        _ = mallopt(trimThreshold, 16 << 20)
        _ = mallopt(mmapThreshold, 4 << 20)
        #endif
    }
}
