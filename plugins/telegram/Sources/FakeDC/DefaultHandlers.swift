import Foundation
import MTProto
import TelegramAPI

extension FakeDataCenter {
    /// What every client asks first: help.getConfig (inside initConnection), help.getNearestDc,
    /// updates.getState for a fresh account (pts 0 is a valid start); users.getUsers before any login
    /// answers like Telegram for an unauthorized key (clients such as Telethon ask for "me" on connect).
    static func installDefaultHandlers(on handlers: inout [UInt32: Handler], dcId: Int32, host: String, port: Int) {
        handlers[Api.Functions.help.GetConfig.constructorId] = { _ in
            .value(Api.Config.config(configuration(thisDc: dcId, host: host, ports: [dcId: port])))
        }
        handlers[Api.Functions.help.GetNearestDc.constructorId] = { _ in
            .value(Api.NearestDc.nearestDc(Api.Types.NearestDc(country: "ZZ", thisDc: dcId, nearestDc: dcId)))
        }
        handlers[Api.Functions.users.GetUsers.constructorId] = { _ in
            .error(MTProto.RPCError(code: 401, message: "AUTH_KEY_UNREGISTERED"))
        }
        handlers[Api.Functions.updates.GetState.constructorId] = { _ in
            .value(Api.updates.State.state(Api.Types.updates.State(pts: 0, qts: 0, date: Int32(Date().timeIntervalSince1970), seq: 0, unreadCount: 0)))
        }
    }

    /// help.getConfig's answer: `thisDc` and every DC of `ports` (all on `host`).
    public static func configuration(thisDc: Int32, host: String, ports: [Int32: Int]) -> Api.Types.Config {
        let now = Int32(Date().timeIntervalSince1970)
        let options = ports.sorted { $0.key < $1.key }.map { id, port in
            Api.DcOption.dcOption(Api.Types.DcOption(id: id, ipAddress: host, port: Int32(port)))
        }
        return Api.Types.Config(
            date: now, expires: now + 3600, testMode: true, thisDc: thisDc, dcOptions: options, dcTxtDomainName: "",
            chatSizeMax: 200, megagroupSizeMax: 200_000, forwardedCountMax: 100, onlineUpdatePeriodMs: 210_000,
            offlineBlurTimeoutMs: 5000, offlineIdleTimeoutMs: 30_000, onlineCloudTimeoutMs: 300_000, notifyCloudDelayMs: 30_000,
            notifyDefaultDelayMs: 1500, pushChatPeriodMs: 60_000, pushChatLimit: 2, editTimeLimit: 172_800,
            revokeTimeLimit: 172_800, revokePmTimeLimit: 2_147_483_647, ratingEDecay: 2_419_200, stickersRecentLimit: 200,
            channelsReadMediaPeriod: 604_800, callReceiveTimeoutMs: 20_000, callRingTimeoutMs: 90_000,
            callConnectTimeoutMs: 30_000, callPacketTimeoutMs: 10_000, meUrlPrefix: "https://t.me/",
            captionLengthMax: 1024, messageLengthMax: 4096, webfileDcId: thisDc)
    }
}
