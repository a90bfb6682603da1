import Foundation
import GatewayModel
import Testing

@testable import GatewayCore

/// `cluster:` keys, the identity an instance derives from them, and what plugins are told.
@Suite struct ClusterConfigTests {
    @Test func keysAreRead() throws {
        let yaml = """
            cluster:
              instance_id: gw-1
              advertise_url: http://10.0.0.5:3000/
              lease_seconds: ${LEASE:-9}
            """
        let config = try ConfigLoader.parse(yaml, file: "c.yaml", environment: [:])
        #expect(config.cluster.instanceId == "gw-1")
        #expect(config.cluster.advertiseURL == "http://10.0.0.5:3000")
        #expect(config.cluster.leaseSeconds == 9)
        let identity = ClusterIdentity(config: config)
        #expect(identity == ClusterIdentity(instanceId: "gw-1", advertiseURL: "http://10.0.0.5:3000"))
    }

    @Test func badValuesAreLocatedErrors() throws {
        let yaml = """
            cluster:
              instance_id: "has space"
              advertise_url: ftp://x
              lease_seconds: 1
              leases: 3
            """
        let errors = try #require(throws: ConfigErrors.self) { try ConfigLoader.parse(yaml, file: "c.yaml", environment: [:]) }
        let text = errors.description
        #expect(text.contains("c.yaml:2:") && text.contains("cluster.instance_id"), "\(text)")
        #expect(text.contains("c.yaml:3:") && text.contains("cluster.advertise_url"), "\(text)")
        #expect(text.contains("c.yaml:4:") && text.contains("cluster.lease_seconds"), "\(text)")
        #expect(text.contains("leases"), "unknown key: \(text)")
    }

    @Test func defaultsComeFromTheServerAndTheProcess() throws {
        var config = GatewayConfig()
        config.server.host = "127.0.0.1"
        config.server.port = 4321
        let identity = ClusterIdentity(config: config)
        #expect(identity.advertiseURL == "http://127.0.0.1:4321")
        #expect(identity.instanceId.contains("-\(ProcessInfo.processInfo.processIdentifier)-"))
        #expect(ClusterIdentity(config: config).instanceId != identity.instanceId, "a random part tells restarts apart")
        config.server.host = "0.0.0.0"
        #expect(ClusterIdentity(config: config).advertiseURL == "http://\(ProcessInfo.processInfo.hostName):4321")
        #expect(GatewayConfig().cluster.leaseSeconds == 15)
    }

    @Test func pluginsAreToldWhenTheHostOwnsAccounts() {
        let plain = PluginHost.configForPlugin(.object(["a": 1]), stateEncrypted: false)
        #expect(plain.objectValue?["gateway"]?.objectValue?["accountOwnership"] == nil)
        let cluster = PluginHost.configForPlugin(.object(["a": 1]), stateEncrypted: true, hostOwnsAccounts: true)
        #expect(cluster.objectValue?["gateway"] == .object(["stateEncryption": "aes-256-gcm", "accountOwnership": "host"]))
        #expect(cluster.objectValue?["a"] == 1)
    }
}
