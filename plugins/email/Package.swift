// swift-tools-version:6.2
import PackageDescription

// Email for the gateway (docs/EMAIL.md): MIME parsing and building, SMTP submission, IMAP
// receiving. Protocols and MIME come from Debian's C libraries (libetpan for IMAP and MIME,
// libcurl for SMTP, OpenSSL for certificate checks; docs/ARCHITECTURE.md, "Email") behind one
// small C target; EmailCore is the Swift layer. A package of its own so it builds and tests
// without the gateway; the gateway's plugin target (plugins/email/Plugin) depends on EmailCore.
let package = Package(
    name: "Email",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EmailCore", targets: ["EmailCore"]),
    ],
    targets: [
        // apt: libetpan-dev libcurl4-gnutls-dev libssl-dev (libetpan-dev pulls in the GnuTLS flavour of libcurl's headers).
        .target(name: "CEmail", linkerSettings: [
            .linkedLibrary("etpan"), .linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto"),
        ]),
        .target(name: "EmailCore", dependencies: ["CEmail"]),
        .testTarget(name: "EmailCoreTests", dependencies: ["EmailCore"]),
    ]
)
