import MTProtoCrypto
import Synchronization

/// Keys and published values for the handshake tests. Helpers live in these enums so they
/// cannot collide with other suites of the MTProtoTests target.
enum HandshakeFixtures {
    /// Hex to bytes (whitespace ignored, case-insensitive); test constants only.
    static func hex(_ text: String) -> [UInt8] {
        let digits = text.filter { !$0.isWhitespace }.compactMap(\.hexDigitValue)
        precondition(digits.count % 2 == 0, "odd hex length")
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(digits[$0] << 4 | digits[$0 + 1]) }
    }

    /// A 2048-bit key made with `openssl genrsa -traditional 2048` for the crypto tests
    /// (Tests/MTProtoCryptoTests/TestRSAKey.swift), reused here as the fake DC's key.
    static let serverKey: RSAPrivateKey = {
        do {
            return try RSAPrivateKey(pem: """
                -----BEGIN RSA PRIVATE KEY-----
                MIIEowIBAAKCAQEAza01irU+wSrHCexTMWRIKzJXEFzy5EZuWtyO5eAFt7RP+cuj
                flA7Ev0VyjlLq8dJr5uxMLkoL0uOD4YhOzWmICg0MMm+FTIFZ35ofs954h4WLAaL
                wOTr1iYNwXfCDb7iXhkPFN4FDx/FKSS1BT1cZZ6i0yHKP0ejH6Le9QxAka8guWzs
                jeWmbEqs0EGImaKj9fE5WqctcpyrAeOs4hfsgHE4tvge1vMLgYnwoY8ydHU/o64y
                qoT+U2VLJg9tD4ZRhxfR7GvRinrxbuFC/2mc6VUdv9pxFucFU+Hz2Ygb/sKBWkFC
                G6YJb6cY/5bds6gE10+EqgyJmda78xiMVCCUJQIDAQABAoIBABBtU3JsVBfKL917
                XOWmqcZGyKy2OnFrAqi1JvX134my7Wmjub9+mZ6ZoiI6/e/kBImcY27jIEeEFFOU
                a0EMYY6onLUs18a07mORYA0zdaZOsDH8pTAsgyg2dTDM54MrihmT4iAmNLyRgAYa
                OBm0CJYr27tbM95mqAEAhCg0Pfqkn8542W4TvvNlXj3Sc8ra5RTGRLbKNy6pe/YR
                z0j0Va9aPF1pcN6V7UXy2Azm5BPJFkqpRBz8vzUaF1c+3+rjCDh4Kl3pAzsnIy+2
                3lhodW/tAyfEsJXuNa1iw550jd87FSRGDjVWYzjcCdBolPsxC4Ym/27BvU5i9qI7
                eoFkfx0CgYEA5vGN9ZPHerTN0OdV7D6EwL+CbHia14InCGve8E9ZzZ6i/DjPQOMt
                HKP1QbJ8PpslzoAgpmeDDrOMTGND/E1dPQboIde/IaOnnTnMFOtSECPfYLEb67mo
                YTxNPiBjjaDz2IV4yRyjy4pwgFbAHs8XhRPBNq/rgJFxxdcaaQT16R8CgYEA4/3d
                ofqQ02HZzTpqcpsvXfig+OGDfi4ds26gU+fYOPLtXy+KpxOKZx6ntWLGzdSn8fEe
                Mhy4NMFA3r4Ob62GGPnI8L/h5FbOdEP7C0JFRR5q6NtuYFOzjMho/Gq8K7aoo88R
                SgZ+wAbuPrZiHS6TuX+EDeMeHTFmCU3juWW+5jsCgYAbd/GtmvUoCCdOyKU0oz8A
                +gZWRoYMSgPAgawToyyIQ20ZWNx12E9+T5YVSVhzzdpSVHUNtdQlxH9Uep4UfVMw
                tgiYNeQa6S8/iSdX+aFaIBoqkwZCJGP9pMF/OTT+HH3EbCOwsAJfbEjzSt4xC+q9
                PltF2OjG8wW4RVxzz048ewKBgE8a31J7UNK3Cc4Gbba0F3xAbwHLpUcbkxyVzrUu
                JTylNS0onrAXvJbI8SGjUx1Jorf0lCiJBHTxdKOUSAgBqhxyVoEJ4sPKRrnaeHlQ
                lh5ETo3azPJJOGwpgRvLoNx99QdZKkOH+2R/QxypRWOgrIrZLqVu3xz77c5eoxvJ
                rLHPAoGBAIqgs0LbUkSH9bQMnWjIpTbfGXdQtCw69A914/b/IdlRITfN1Fq7uZwx
                KEbnT2Ej9chRaomyU9ySfrKZuDtg7oEguHAnzzqRP+Ct+RRvWMK+KsoVlfnfSRhX
                4rybuc4044i1RqRkhoDf2ev35qEZqpuR7dHiDAKBrG0uQJfwSgSi
                -----END RSA PRIVATE KEY-----
                """)
        } catch {
            fatalError("test key does not parse: \(error)")
        }
    }()

    /// Telegram's long-published server key, fingerprint c3b42b026ce86b21 (the one the 2013
    /// revision of https://core.telegram.org/mtproto/samples-auth_key uses).
    static let telegram2013Key: RSAPublicKey = {
        do {
            return try RSAPublicKey(pem: """
                -----BEGIN RSA PUBLIC KEY-----
                MIIBCgKCAQEAwVACPi9w23mF3tBkdZz+zwrzKOaaQdr01vAbU4E1pvkfj4sqDsm6
                lyDONS789sVoD/xCS9Y0hkkC3gtL1tSfTlgCMOOul9lcixlEKzwKENj1Yz/s7daS
                an9tqw3bfUV/nqgbhGX81v/+7RFAEd+RwFnK7a+XYl9sluzHRyVVaTTveB2GazTw
                Efzk2DWgkBluml8OREmvfraX3bkHZJTKX4EQSjBbbdJ2ZXIsRrYOXfaA+xayEGB+
                8hdlLmAjbCVfaigxX0CDqWeR1yFL9kwd9P0NsZRPsmoqVwMbMu7mStFai6aIhc3n
                Slv8kg9qv1m6XHVQY3PnEw+QQtqSIXklHwIDAQAB
                -----END RSA PUBLIC KEY-----
                """)
        } catch {
            fatalError("Telegram's key does not parse: \(error)")
        }
    }()
    static let telegram2013Fingerprint = Int64(bitPattern: 0xc3b4_2b02_6ce8_6b21)
}

/// The 2013 revision of https://core.telegram.org/mtproto/samples-auth_key (steps 1-5).
enum HandshakeSample2013 {
    static let nonce = HandshakeFixtures.hex("3E0549828CCA27E966B301A48FECE2FC")
    static let newNonce = HandshakeFixtures.hex("311C85DB234AA2640AFC4A76A735CF5B1F0FD68BD17FA181E1229AD867CC024D")
    /// The server's resPQ packet as the page prints it (pq 17ED48941A08F981, fingerprint c3b42b026ce86b21).
    static let resPQPacket = HandshakeFixtures.hex("""
        00 00 00 00 00 00 00 00 01 C8 83 1E C9 7A E5 51
        40 00 00 00 63 24 16 05 3E 05 49 82 8C CA 27 E9
        66 B3 01 A4 8F EC E2 FC A5 CF 4D 33 F4 A1 1E A8
        77 BA 4A A5 73 90 73 30 08 17 ED 48 94 1A 08 F9
        81 00 00 00 15 C4 B5 1C 01 00 00 00 21 6B E8 6C
        02 2B B4 C3
        """)
    /// The start of the page's req_DH_params body, up to encrypted_data (which RSA_PAD randomizes):
    /// constructor, nonce, server_nonce, p = 494C553B, q = 53911073, fingerprint.
    static let reqDHParamsPrefix = HandshakeFixtures.hex("""
        BE E4 12 D7 3E 05 49 82 8C CA 27 E9 66 B3 01 A4 8F EC E2 FC
        A5 CF 4D 33 F4 A1 1E A8 77 BA 4A A5 73 90 73 30
        04 49 4C 55 3B 00 00 00 04 53 91 10 73 00 00 00 21 6B E8 6C 02 2B B4 C3
        """)
}

/// The current revision of https://core.telegram.org/mtproto/samples-auth_key (steps 6-9,
/// pq 2694724800268887959 = 0x5A300D4B * 0x6A26DB65), as in MTProtoCryptoTests.
enum HandshakeSampleCurrent {
    static func hex(_ text: String) -> [UInt8] { HandshakeFixtures.hex(text) }
    static let pq = hex("256595EDB7766797")
    /// nonce (the client's first random draw).
    static let nonce = hex("406709F612FADFBEC3F0289D0AA67EEF")
    /// server_nonce from resPQ.
    static let serverNonce = hex("E11DBC3BC97D91A26154F932AF019943")
    /// new_nonce (the client's second random draw).
    static let newNonce = hex("A8BBC849512DAC6C67B6EFD9157D6CA7377A1776307D84265C6BE9BDCF802AC1")
    /// Step 6: server_DH_params_ok.encrypted_answer.
    static let encryptedAnswer = hex("""
        6AD7DD5D8B2526C761ABE50E93C82A6F331B1EAE0AD011893DA976E3771D4AA45209D234FEA65642985386B817BF8980
        F517F6D32DBEB47E34534556F950DDF960DB721A48480231619161112682C6046D5629C71CD1EC8061DFCDD704703EC7
        A8AEBDCBD159579FC8886D9FA51E009AF49B5AB90C7628EB81C9788A2EB6AC0E757A7DEBE3D949F80A990BEDB4D2DBAE
        43F00328B82F4D8FC83A9B9CFEEF467E1593BB4579EE32412F167A780CFA517650BD0EB51CBFB50E3AFE978839466131
        FCD956711E63614F006A55ED35ED2B1F833C29F4FD7A84F0C8F1C10DFC1A1AAF9A8A57108DECF206E3968406F0FB25E9
        22DF154F497B51527E4834202FAB477A137D0A99D1C347196FBA10699F52EA56F01EF93829B310A5C97DB95FD57E6441
        7E526EB920D261157C6E38791BDD5389EEB744E075D952DB33A8151207D0AB3C629E30A723A5205F8FA18398937ED271
        4A4E76A5F4512508A4BE1B4D6AE46FD156C6F06347AF5E07CE49279195133B07CCE4BC6775D88F3611180D23C4C70946
        619AD759AB9F183A385CCF9BF19315FADBE8A4FDC748AF52DF930345909C870DE4B48901E9F90E56D74CA534D8E1FE3A
        35A92A18D676958EB8FC3D82F9CEE308DF2A9E4CCD23FF89EA255B9EEDBC3378148879666FFC2E19A431CBB57AE1A010
        FFE5CB39ABF131ADD9E90BF969A112C435509B78960E0B20031C822190841561E8390446227660BBACCF3D53574BFBA3
        3BF476E3BDC9EB680AA2A17FD6756F652725ED0313E5EB0FD6A9C8C949EEFBE809A89311BF20F40055CA25FD169DC13E
        E14B315092FDE4184638D849682FD862
        """)
    /// Step 7: the client's secret b (third random draw).
    static let b = hex("""
        1376A5A6BF7A9F874B47028F3D5CFF0689FD52F58949BB0EE9BACDBE81DD1CED07101844EB6F2AE19E61120B84799431
        F445785E33A18141399821479AE96786E0F4E9C5C6C9E46BF562C21C96B0F8F7438C8CABA3DFCB3DD3B886C2A37B95ED
        804315335C0DDFFEB3A278243D89F964278BC734D1087D6D4B554C1F78397A414F440E38BA9A4F1211B20AE835437762
        F81A45FDB035BB2220D939693084B39A3C7BE2481309AB9AE378EAB8BB3A15A69EBA80BEF683582E2218FA604E823EAB
        D111553D31DBB46B9383A0D8EEF615FFF9CF266C970800AA28AC5E962D20351311A815FFA7562989CA6D6323BF2B5AF4
        0EF3F45021B7445664852D07B80172CE
        """)
    /// Step 7: the 12 padding bytes after SHA1 + client_DH_inner_data (fourth draw).
    static let clientDHPadding = hex("74876952857BA6AAA495A20D")
    /// Step 7: set_client_DH_params.encrypted_data.
    static let clientDHEncrypted = hex("""
        14D185E575255986C29BE3A0437D525BA22430CBA0CD755225945AD3A1ACEFB536518514F5086892E6E3FA84D1CBB644
        BC8F7BEBCDE74E31BA8A073F47623EBB6E7D94B3A676A4C1AFD4689C52D05F73D21C33F64FE6AEABD04273D9117CD064
        E467E1F8E6C887BCAE4679E0399AD35DB1302A80629618F8C8485248D89A4E3568B464FF7B608CBE24B51EEB81B65D76
        224B62A1669EAA48A99C122E5E8A778E13DD441DC52175160088A498F186A2B99C736FE8C5C3E274D804C629564A0F15
        DDABC5B449356A7990900652A7432AFB1499C7CE09246F6B29006425DF2926465B04F17C0077B6A336A50E46B675AD56
        07F05818F84EADEC1F4847BF311027E742F8B1E183C01810C4CE964F2A0F36E257849C144C9B0B93B4A7A9E57391DB0C
        CB0D757A2B7A77257C8FF55553D66B6E1D45E9D8CA88E5A47B16322FF2ED5F5ABE099E7006B2D29C829D746B704130B1
        """)
    /// The resulting auth key.
    static let authKey = hex("""
        ACA2547BAA3B4B3E6AD9129ADEE796042FC4ACAAABA40DCE7A1196640595829E2BA85C5E68E5D2B7B713B28720CCD0E6
        5DA3B80CD8A9282BDE895755B924F4CBBCED119DEE057D3066D7095C25771A53D9AD6EC3464EE0E7FE1A4D9851F17B6C
        C7D6E636E0BDEA7D66153CF37005835A528E65673C1F5ADAA27465964BA89AA6FD045108B25B1DC9AB2D979864858C9E
        ACBFA4A399CDBF2154D2CC6743C5CAA40683343D80A36C7F1289DC5AC5EE585DEA1E1CD296444EA6CD8F6C3564B2D355
        B310A3C02608EEA5EC36D38E941BF811489AB7A24C069E44FF54714CB4A45EEE2F310FDDC0A1B08BD3DFF8801E27C850
        8EFD7AD51EF3C13EF1D9A02EE4601741
        """)
}

/// A random source that hands out scripted values, in order, to the draws of the same
/// length, and secure random bytes for every other draw.
final class HandshakeScriptedRandom: Sendable {
    private let script: Mutex<[[UInt8]]>

    init(_ script: [[UInt8]]) { self.script = Mutex(script) }

    func bytes(_ count: Int) -> [UInt8] {
        let scripted: [UInt8]? = script.withLock { values in
            guard let next = values.first, next.count == count else { return nil }
            values.removeFirst()
            return next
        }
        return scripted ?? SecureRandom.bytes(count)
    }

    var isUsedUp: Bool { script.withLock { $0.isEmpty } }
}

/// Counts calls across concurrency domains (the server's key-usability hook).
final class HandshakeCounter: Sendable {
    private let value = Mutex(0)
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
    var count: Int { value.withLock { $0 } }
}
