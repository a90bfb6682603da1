// swift-tools-version:6.2
import PackageDescription

// Plugins link with -Bsymbolic so two Swift plugins loaded RTLD_LOCAL never bind into each
// other's private copies of the Swift/NIO runtime (see docs/ARCHITECTURE.md, "Plugins as .so").
let pluginLinkerSettings: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "-Bsymbolic"])]

let package = Package(
    name: "ChannelGateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gateway", targets: ["gateway"]),
        .library(name: "ChannelKit", targets: ["ChannelKit"]),
        .library(name: "LoopbackChannel", type: .dynamic, targets: ["LoopbackChannel"]),
        .library(name: "CEchoChannel", type: .dynamic, targets: ["CEchoChannel"]),
        .library(name: "TelegramChannel", type: .dynamic, targets: ["TelegramChannel"]),
        .library(name: "EmailChannel", type: .dynamic, targets: ["EmailChannel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Telegram's MTProto stack (TL, crypto, transports, session, fake DC): a package of its own.
        .package(path: "plugins/telegram"),
        // Email (MIME, SMTP, IMAP over libetpan/libcurl/OpenSSL): a package of its own.
        .package(path: "plugins/email"),
    ],
    targets: [
        // The C contract between the gateway and its channel plugins.
        .target(name: "GatewayABI", path: "Sources/GatewayABI"),
        // System libsqlite3 (libsqlite3-dev).
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // System libqrencode (libqrencode-dev): QR codes for the console's Telegram QR login.
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode", pkgConfig: "libqrencode",
                       providers: [.apt(["libqrencode-dev"])]),
        // System hiredis (libhiredis-dev): the hub's Redis adapter (cluster mode).
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis", pkgConfig: "hiredis",
                       providers: [.apt(["libhiredis-dev"])]),
        // System librabbitmq (librabbitmq-dev): publishing the event outbox to RabbitMQ.
        .systemLibrary(name: "CRabbitMQ", path: "Sources/CRabbitMQ", pkgConfig: "librabbitmq",
                       providers: [.apt(["librabbitmq-dev"])]),
        .target(name: "GatewayModel"),
        .target(name: "ChannelKit", dependencies: ["GatewayABI", "GatewayModel"]),
        .target(name: "GatewayCore", dependencies: [
            "GatewayABI", "GatewayModel", "CSQLite", "CQRencode", "CHiredis", "CRabbitMQ",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], resources: [.copy("Resources/openapi.yaml"), .copy("Resources/console")]),
        .executableTarget(name: "gateway", dependencies: [
            "GatewayCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Plugins proving the ABI: a plain C one and a Swift one on ChannelKit.
        .target(name: "CEchoChannel", dependencies: ["GatewayABI"], path: "plugins/examples/c-echo", publicHeadersPath: ".",
                linkerSettings: pluginLinkerSettings),
        .target(name: "LoopbackChannel", dependencies: ["ChannelKit"], path: "plugins/loopback",
                linkerSettings: pluginLinkerSettings),
        // Telegram user accounts over MTProto, on the stack in plugins/telegram (its own package).
        .target(name: "TelegramChannel", dependencies: [
            "ChannelKit",
            .product(name: "TelegramClient", package: "telegram"),
            .product(name: "MTProtoCrypto", package: "telegram"),
            .product(name: "MTProtoTransport", package: "telegram"),
        ], path: "plugins/telegram/Plugin", linkerSettings: pluginLinkerSettings),
        // Email accounts (SMTP out, IMAP in) on the package in plugins/email.
        .target(name: "EmailChannel", dependencies: [
            "ChannelKit", .product(name: "EmailCore", package: "email"),
        ], path: "plugins/email/Plugin", linkerSettings: pluginLinkerSettings),

        .executableTarget(name: "gateway-bench", dependencies: [
            "GatewayCore", "CSQLite",
            .product(name: "MTProto", package: "telegram"),
            .product(name: "MTProtoCrypto", package: "telegram"),
            .product(name: "MTProtoNetwork", package: "telegram"),
            .product(name: "FakeDC", package: "telegram"),
            .product(name: "TelegramAPI", package: "telegram"),
            .product(name: "TLRuntime", package: "telegram"),
        ],
                          path: "Benchmarks/gateway-bench"),

        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore", "GatewayModel", "ChannelKit"]),
    ]
)
