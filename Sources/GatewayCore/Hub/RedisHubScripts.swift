import Crypto
import Foundation

/// The Lua scripts of the hub's Redis backplane: each runs atomically in Redis. They are sent
/// by EVALSHA (SHA-1 computed here) and, when Redis does not know them yet (NOSCRIPT, e.g.
/// after a restart), by EVAL, which also caches them.
struct RedisScript: Sendable {
    let source: String
    let sha1: String

    init(_ source: String) {
        self.source = source
        sha1 = Insecure.SHA1.hash(data: Data(source.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// EVALSHA, falling back to EVAL on NOSCRIPT.
    func run(on connection: RedisConnection, keys: [String], arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        let tail: [[UInt8]] = [Array(String(keys.count).utf8)] + keys.map { Array($0.utf8) } + arguments
        let reply = try connection.command([Array("EVALSHA".utf8), Array(sha1.utf8)] + tail)
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            return try connection.command([Array("EVAL".utf8), Array(source.utf8)] + tail).checked()
        }
        return try reply.checked()
    }
}

enum RedisHubScripts {
    /// Appends events of one organization to its stream and to the cluster's event stream.
    /// KEYS: org stream, event stream. ARGV: org, org stream max length, recovery window (ms),
    /// event stream max length, then (account, chat, json) per event.
    /// Ids are `<ms>-<seq>` with seq < 1000 (a full millisecond borrows the next one), so the
    /// offset `ms * 1000 + seq` identifies an entry and stays below 2^53 (exact in JavaScript).
    /// Returns the last offset given.
    static let publish = RedisScript(#"""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local ms, seq = now, 0
        local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        if #newest > 0 then
          local id = newest[1][1]
          local dash = string.find(id, '-', 1, true)
          local lastms = tonumber(string.sub(id, 1, dash - 1))
          local lastseq = tonumber(string.sub(id, dash + 1))
          if lastms >= ms then
            ms = lastms
            seq = lastseq + 1
            if seq >= 1000 then ms = ms + 1; seq = 0 end
          end
        end
        local offset = 0
        for i = 5, #ARGV, 3 do
          local id = string.format('%d-%d', ms, seq)
          offset = string.format('%d%03d', ms, seq)
          redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], id, 'e', ARGV[i + 2])
          redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'o', ARGV[1], 'n', offset, 'a', ARGV[i], 'c', ARGV[i + 1], 'e', ARGV[i + 2])
          seq = seq + 1
          if seq >= 1000 then ms = ms + 1; seq = 0 end
        end
        redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', now - tonumber(ARGV[3])))
        redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 600000)
        return offset
        """#)

    /// What a recovering client needs. KEYS: org stream. ARGV: the client's offset as a stream
    /// id, the most events to return + 1.
    /// Returns {now ms, newest id or nil, 1 if the offset's entry is still kept else 0, entries after it}.
    static let recover = RedisScript(#"""
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        local at = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
        local after = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
        local newestId = false
        if #newest > 0 then newestId = newest[1][1] end
        return {now, newestId, #at, after}
        """#)

    /// Cluster-wide admission. KEYS: the organization's count hash, the set of organizations.
    /// ARGV: this instance, its count with the new connection, the cap, the instance key
    /// prefix, the organization. Instances whose heartbeat key expired no longer count (their
    /// fields are removed). Returns {1 admitted / 0 refused, the other instances' count}.
    static let admit = RedisScript(#"""
        local fields = redis.call('HGETALL', KEYS[1])
        local others = 0
        for i = 1, #fields, 2 do
          local who = fields[i]
          if who ~= ARGV[1] then
            if redis.call('EXISTS', ARGV[4] .. who) == 1 then
              others = others + tonumber(fields[i + 1])
            else
              redis.call('HDEL', KEYS[1], who)
            end
          end
        end
        local mine = tonumber(ARGV[2])
        if others + mine > tonumber(ARGV[3]) then return {0, others} end
        redis.call('HSET', KEYS[1], ARGV[1], mine)
        redis.call('SADD', KEYS[2], ARGV[5])
        return {1, others}
        """#)

    /// Connections per organization on live instances. KEYS: the set of organizations. ARGV:
    /// the count hash prefix, the instance key prefix. Drops dead instances' fields and empty
    /// organizations. Returns {org, count, org, count, ...}.
    static let counts = RedisScript(#"""
        local result = {}
        for _, org in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local key = ARGV[1] .. org
          local fields = redis.call('HGETALL', key)
          local total = 0
          for i = 1, #fields, 2 do
            if redis.call('EXISTS', ARGV[2] .. fields[i]) == 1 then
              total = total + tonumber(fields[i + 1])
            else
              redis.call('HDEL', key, fields[i])
            end
          end
          if total > 0 then
            table.insert(result, org)
            table.insert(result, total)
          elseif redis.call('HLEN', key) == 0 then
            redis.call('SREM', KEYS[1], org)
          end
        end
        return result
        """#)
}
