/// The store could not be reached (server down, restarting, connection lost): the statement was
/// not at fault and the same write can succeed later. Writers that can wait (the ingest
/// pipeline) keep the data and retry; API calls answer 503 `store_unavailable`. Every other
/// store error is about the statement or its data and retrying would fail the same way.
public struct StoreUnavailable: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
