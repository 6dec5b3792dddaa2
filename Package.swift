// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Vltava",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vltava", targets: ["vltava"]),
        .executable(name: "vltava-protocol-gen", targets: ["vltava-protocol-gen"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "KafkaRecords", targets: ["KafkaRecords"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "KafkaProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "CVltavaCompression",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("dl")]
        ),
        .target(
            name: "KafkaRecords",
            dependencies: [
                "KafkaProtocol",
                "CVltavaCompression",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "VltavaSecurity",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "VltavaHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "VltavaEtcd",
            dependencies: [
                "VltavaHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VltavaCluster",
            dependencies: [
                "VltavaEtcd",
                "VltavaStorage",
                "VltavaSecurity",
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VltavaMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "VltavaStorage",
            dependencies: [
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                "KafkaProtocol",
                "KafkaRecords",
                "VltavaSecurity",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VltavaCoordinator",
            dependencies: [
                "KafkaProtocol",
                "KafkaRecords",
                "VltavaStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "VltavaBroker",
            dependencies: [
                "KafkaProtocol",
                "KafkaRecords",
                "VltavaSecurity",
                "VltavaHTTP",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                "VltavaStorage",
                "VltavaCoordinator",
                "VltavaMetrics",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "VltavaClient",
            dependencies: [
                "KafkaProtocol",
                "KafkaRecords",
                "VltavaSecurity",
                "VltavaHTTP",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SchemaRegistry",
            dependencies: [
                "VltavaClient",
                "VltavaSecurity",
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                "VltavaMetrics",
            ]
        ),
        .target(
            name: "VltavaConnect",
            dependencies: [
                "VltavaClient",
                "VltavaSecurity",
                "VltavaHTTP",
                "SchemaRegistry",
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                "VltavaMetrics",
            ]
        ),
        .target(
            name: "VltavaConsole",
            dependencies: [
                "VltavaClient",
                "SchemaRegistry",
                "VltavaSecurity",
                "VltavaConnect",
                "VltavaHTTP",
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "vltava-protocol-gen",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "vltava",
            dependencies: [
                "VltavaHTTP",
                "VltavaCluster",
                "KafkaProtocol",
                "KafkaRecords",
                "VltavaStorage",
                "VltavaCoordinator",
                "VltavaBroker",
                "VltavaClient",
                "SchemaRegistry",
                "VltavaConnect",
                "VltavaConsole",
                "VltavaSecurity",
                "VltavaMetrics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            // SwiftPM links executables with --export-dynamic: 62 000 symbols the loader consults for every symbol
            // it binds at start-up, pages of memory for nothing (nothing loads plug-ins into vltava). lld packs the
            // binary's relative relocations (DT_RELR, glibc 2.36+): the loader reads 50 kB of them instead of 3.3 MB.
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                                          .when(configuration: .release))]
        ),
        .executableTarget(
            name: "vltava-bench",
            dependencies: [
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: [
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "VltavaStorageTests",
            dependencies: [
                "VltavaStorage",
                "VltavaSecurity",
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VltavaBrokerTests",
            dependencies: [
                "VltavaBroker",
                "VltavaSecurity",
                "VltavaStorage",
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VltavaCoordinatorTests",
            dependencies: [
                "VltavaCoordinator",
                "VltavaStorage",
                "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VltavaSecurityTests",
            dependencies: [
                "VltavaSecurity",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        .testTarget(
            name: "VltavaClientTests",
            dependencies: ["VltavaClient", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "SchemaRegistryTests",
            dependencies: ["SchemaRegistry", "VltavaSecurity"]
        ),
        .testTarget(
            name: "VltavaConnectTests",
            dependencies: [
                "VltavaConnect", "SchemaRegistry", "VltavaSecurity", "VltavaHTTP", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VltavaConsoleTests",
            dependencies: ["VltavaConsole", "VltavaClient", "VltavaSecurity", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(
            name: "VltavaCLITests",
            dependencies: ["vltava", "SchemaRegistry"]
        ),
        .testTarget(
            name: "VltavaEtcdTests",
            dependencies: [
                "VltavaEtcd", "VltavaHTTP", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "VltavaClusterTests",
            dependencies: [
                "VltavaCluster", "VltavaEtcd", "VltavaStorage", "VltavaSecurity", "KafkaProtocol",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "VltavaMetricsTests",
            dependencies: ["VltavaMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]
        ),
        .testTarget(
            name: "KafkaRecordsTests",
            dependencies: [
                "KafkaRecords",
                "KafkaProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Decoder fuzzing (scripts/fuzz-decoders, docs/fuzzing.md): one libFuzzer binary, declared only when VLTAVA_FUZZ=1
// so that ordinary builds and `swift test` never see an executable whose `main` is libFuzzer's. Built with
// `VLTAVA_FUZZ=1 swift build -c release --product vltava-fuzz -Xswiftc -sanitize=fuzzer,address --scratch-path .build-fuzz`.
if Context.environment["VLTAVA_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CVltavaFuzzMain", path: "Tests/Fuzz/Main"),
        .executableTarget(
            name: "vltava-fuzz",
            dependencies: ["CVltavaFuzzMain", "KafkaProtocol", "KafkaRecords", "SchemaRegistry"],
            path: "Tests/Fuzz/Driver",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
}
