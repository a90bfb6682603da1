import Synchronization

/// Each chat's listing JSON as last written, kept under the chat row's revision (SQLite
/// migration 5: every version of a chat row and its last message has a revision no other
/// version had). A listing reads each chat's rowid and revision and copies the JSON when the
/// revision matches; only chats that changed since are read in full and written again. So a
/// listing never shows stale data: the revision comes from the same snapshot as the rows.
final class ChatJSONCache: Sendable {
    private struct Entry {
        var revision: Int
        var json: [UInt8]
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    /// Past this many bytes of JSON the cache starts again empty (10,000 chats take ~7 MB).
    let byteLimit: Int

    init(byteLimit: Int = 32 << 20) {
        self.byteLimit = byteLimit
    }

    /// The JSON of the chat at `rowid` as of `revision`, if kept.
    func json(rowid: Int, revision: Int) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.entries[rowid], entry.revision == revision else { return nil }
            return entry.json
        }
    }

    /// Keeps `json` for the chat at `rowid` as of `revision`, in place of what was kept for it.
    func keep(_ json: [UInt8], rowid: Int, revision: Int) {
        state.withLock { state in
            let previous = state.entries[rowid]
            state.bytes += json.count - (previous?.json.count ?? 0)
            if state.bytes > byteLimit {
                state.entries.removeAll(keepingCapacity: true)
                state.bytes = json.count
            }
            state.entries[rowid] = Entry(revision: revision, json: json)
        }
    }
}
