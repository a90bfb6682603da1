import Synchronization

/// Listing rows' JSON as last written, each kept under its row's revision (SQLite migration 5:
/// triggers give every changed version of a chat or message row a revision from one counter).
/// A listing reads each row's key, revision and identity and copies the JSON when they match;
/// only rows that changed since are read in full and written again. No answer is ever stale:
/// the revision comes from the same read transaction as the columns.
final class RowJSONCache: Sendable {
    private struct Entry {
        var revision: Int
        var identity: [UInt8]
        var json: [UInt8]
    }

    private struct State {
        var entries: [Int: Entry] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    /// Past this many bytes of JSON the cache starts again empty (a chat or message is ~700
    /// bytes); 0 keeps nothing.
    let byteLimit: Int

    init(byteLimit: Int = 32 << 20) {
        self.byteLimit = byteLimit
    }

    /// The JSON of the row at `key` as of `revision`, if kept. `identity` tells apart rows that
    /// can reuse a key with the same revision (a message's id: a new row starts at revision 0).
    func json(key: Int, revision: Int, identity: UnsafeBufferPointer<UInt8>? = nil) -> [UInt8]? {
        guard byteLimit > 0 else { return nil }
        return state.withLock { state in
            guard let entry = state.entries[key], entry.revision == revision,
                entry.identity.elementsEqual(identity ?? UnsafeBufferPointer(start: nil, count: 0))
            else { return nil }
            return entry.json
        }
    }

    /// Keeps `json` for the row at `key` as of `revision`, in place of what was kept for it.
    func keep(_ json: [UInt8], key: Int, revision: Int, identity: [UInt8]? = nil) {
        guard json.count <= byteLimit else { return }
        state.withLock { state in
            let previous = state.entries[key]
            state.bytes += json.count - (previous?.json.count ?? 0)
            if state.bytes > byteLimit {
                state.entries.removeAll(keepingCapacity: true)
                state.bytes = json.count
            }
            state.entries[key] = Entry(revision: revision, identity: identity ?? [], json: json)
        }
    }
}
