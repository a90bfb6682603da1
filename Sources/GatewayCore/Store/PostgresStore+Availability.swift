import PostgresNIO
import _ConnectionPoolModule

/// Which postgres-nio failures are about the server's availability rather than the statement.
///
/// Measured with postgres-nio 1.33 against a stopped server: a request waits in the pool while
/// it retries connecting (backoff from 100 ms, ×1.25 per attempt); after 60 s without any
/// connection the pool trips its circuit breaker, fails the waiting requests with
/// `connectionCreationCircuitBreakerTripped`, and fails new ones at once until a background
/// attempt connects again. A statement running when the server stops sees SQLSTATE 57P01
/// (admin shutdown) or a closed connection.
extension PostgresStore {
    /// `error` as the store reports it: `StoreUnavailable` for an outage, else a `PostgresStoreError`.
    static func storeError(_ error: any Error, settings: PostgresSettings) -> any Error {
        if error is StoreUnavailable { return error }
        let described = PostgresStoreError.describe(error, settings: settings)
        return isUnavailability(error) ? StoreUnavailable(described.description) : described
    }

    static func isUnavailability(_ error: any Error) -> Bool {
        if let transaction = error as? PostgresTransactionError {
            // The first failure decides; a rollback failing after it says nothing new.
            guard let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError else {
                return transaction.rollbackError.map(isUnavailability) ?? false
            }
            return isUnavailability(inner)
        }
        if let error = error as? ConnectionPoolError {
            return error == .connectionCreationCircuitBreakerTripped
        }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return true
        case .clientClosedConnection:
            // Also what a statement issued just after the server ended the session gets (the
            // server's error underneath); with nothing underneath, this side closed it.
            return error.underlying.map(isUnavailability) ?? false
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now.
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        default:
            return false
        }
    }
}
