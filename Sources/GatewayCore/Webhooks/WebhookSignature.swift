import Crypto
import Foundation

/// `X-Gateway-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
public enum WebhookSignature {
    public static func sign(body: Data, timestamp: Int, secret: String) -> String {
        var message = Data("\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}
