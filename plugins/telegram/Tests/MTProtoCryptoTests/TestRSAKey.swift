/// A 2048-bit RSA key made once with `openssl genrsa -traditional 2048` for these tests
/// (never used anywhere else), in the encodings OpenSSL writes.
enum TestRSAKey {
    static let privatePKCS1 = """
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
        """
    static let privatePKCS8 = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDNrTWKtT7BKscJ
        7FMxZEgrMlcQXPLkRm5a3I7l4AW3tE/5y6N+UDsS/RXKOUurx0mvm7EwuSgvS44P
        hiE7NaYgKDQwyb4VMgVnfmh+z3niHhYsBovA5OvWJg3Bd8INvuJeGQ8U3gUPH8Up
        JLUFPVxlnqLTIco/R6Mfot71DECRryC5bOyN5aZsSqzQQYiZoqP18Tlapy1ynKsB
        46ziF+yAcTi2+B7W8wuBifChjzJ0dT+jrjKqhP5TZUsmD20PhlGHF9Hsa9GKevFu
        4UL/aZzpVR2/2nEW5wVT4fPZiBv+woFaQUIbpglvpxj/lt2zqATXT4SqDImZ1rvz
        GIxUIJQlAgMBAAECggEAEG1TcmxUF8ov3Xtc5aapxkbIrLY6cWsCqLUm9fXfibLt
        aaO5v36ZnpmiIjr97+QEiZxjbuMgR4QUU5RrQQxhjqictSzXxrTuY5FgDTN1pk6w
        MfylMCyDKDZ1MMzngyuKGZPiICY0vJGABho4GbQIlivbu1sz3maoAQCEKDQ9+qSf
        znjZbhO+82VePdJzytrlFMZEtso3Lql79hHPSPRVr1o8XWlw3pXtRfLYDObkE8kW
        SqlEHPy/NRoXVz7f6uMIOHgqXekDOycjL7beWGh1b+0DJ8Swle41rWLDnnSN3zsV
        JEYONVZjONwJ0GiU+zELhib/bsG9TmL2ojt6gWR/HQKBgQDm8Y31k8d6tM3Q51Xs
        PoTAv4JseJrXgicIa97wT1nNnqL8OM9A4y0co/VBsnw+myXOgCCmZ4MOs4xMY0P8
        TV09Bugh178ho6edOcwU61IQI99gsRvruahhPE0+IGONoPPYhXjJHKPLinCAVsAe
        zxeFE8E2r+uAkXHF1xppBPXpHwKBgQDj/d2h+pDTYdnNOmpymy9d+KD44YN+Lh2z
        bqBT59g48u1fL4qnE4pnHqe1YsbN1Kfx8R4yHLg0wUDevg5vrYYY+cjwv+HkVs50
        Q/sLQkVFHmro225gU7OMyGj8arwrtqijzxFKBn7ABu4+tmIdLpO5f4QN4x4dMWYJ
        TeO5Zb7mOwKBgBt38a2a9SgIJ07IpTSjPwD6BlZGhgxKA8CBrBOjLIhDbRlY3HXY
        T35PlhVJWHPN2lJUdQ211CXEf1R6nhR9UzC2CJg15BrpLz+JJ1f5oVogGiqTBkIk
        Y/2kwX85NP4cfcRsI7CwAl9sSPNK3jEL6r0+W0XY6MbzBbhFXHPPTjx7AoGATxrf
        UntQ0rcJzgZttrQXfEBvAculRxuTHJXOtS4lPKU1LSiesBe8lsjxIaNTHUmit/SU
        KIkEdPF0o5RICAGqHHJWgQniw8pGudp4eVCWHkROjdrM8kk4bCmBG8ug3H31B1kq
        Q4f7ZH9DHKlFY6CsitkupW7fHPvtzl6jG8mssc8CgYEAiqCzQttSRIf1tAydaMil
        Nt8Zd1C0LDr0D3Xj9v8h2VEhN83UWru5nDEoRudPYSP1yFFqibJT3JJ+spm4O2Du
        gSC4cCfPOpE/4K35FG9Ywr4qyhWV+d9JGFfivJu5zjTjiLVGpGSGgN/Z6/fmoRmq
        m5Ht0eIMAoGsbS5Al/BKBKI=
        -----END PRIVATE KEY-----
        """
    static let publicPKCS1 = """
        -----BEGIN RSA PUBLIC KEY-----
        MIIBCgKCAQEAza01irU+wSrHCexTMWRIKzJXEFzy5EZuWtyO5eAFt7RP+cujflA7
        Ev0VyjlLq8dJr5uxMLkoL0uOD4YhOzWmICg0MMm+FTIFZ35ofs954h4WLAaLwOTr
        1iYNwXfCDb7iXhkPFN4FDx/FKSS1BT1cZZ6i0yHKP0ejH6Le9QxAka8guWzsjeWm
        bEqs0EGImaKj9fE5WqctcpyrAeOs4hfsgHE4tvge1vMLgYnwoY8ydHU/o64yqoT+
        U2VLJg9tD4ZRhxfR7GvRinrxbuFC/2mc6VUdv9pxFucFU+Hz2Ygb/sKBWkFCG6YJ
        b6cY/5bds6gE10+EqgyJmda78xiMVCCUJQIDAQAB
        -----END RSA PUBLIC KEY-----
        """
    static let publicSPKI = """
        -----BEGIN PUBLIC KEY-----
        MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAza01irU+wSrHCexTMWRI
        KzJXEFzy5EZuWtyO5eAFt7RP+cujflA7Ev0VyjlLq8dJr5uxMLkoL0uOD4YhOzWm
        ICg0MMm+FTIFZ35ofs954h4WLAaLwOTr1iYNwXfCDb7iXhkPFN4FDx/FKSS1BT1c
        ZZ6i0yHKP0ejH6Le9QxAka8guWzsjeWmbEqs0EGImaKj9fE5WqctcpyrAeOs4hfs
        gHE4tvge1vMLgYnwoY8ydHU/o64yqoT+U2VLJg9tD4ZRhxfR7GvRinrxbuFC/2mc
        6VUdv9pxFucFU+Hz2Ygb/sKBWkFCG6YJb6cY/5bds6gE10+EqgyJmda78xiMVCCU
        JQIDAQAB
        -----END PUBLIC KEY-----
        """
    /// Computed independently with Telethon 1.39's `telethon.crypto.rsa._compute_fingerprint`.
    static let fingerprint: Int64 = -441707142359835512
}
