import TelegramAPI

extension FakeTelegramWorld {
    /// Makes `dataCenter` part of this world: its id (`configuration.dcId`) is a DC users can live
    /// on, and the world answers these calls there (replacing the DC's defaults for users.getUsers
    /// and updates.getState, which now need a logged-in key):
    /// auth.sendCode, auth.signIn, account.getPassword, auth.checkPassword, auth.logOut,
    /// auth.exportAuthorization, auth.importAuthorization, auth.exportLoginToken, auth.importLoginToken,
    /// auth.acceptLoginToken, users.getUsers, contacts.resolveUsername,
    /// updates.getState, updates.getDifference, updates.getChannelDifference, messages.getDialogs,
    /// messages.getHistory, messages.sendMessage, messages.readHistory, channels.readHistory.
    public func attach(to dataCenter: FakeDataCenter) async {
        let dc = dataCenter.configuration.dcId
        dataCenters[dc] = dataCenter
        @Sendable func caller(_ call: IncomingCall) -> Caller { Caller(dc: dc, authKeyId: call.authKeyId) }

        await dataCenter.on(Api.Functions.auth.SendCode.self) { request, call in try await self.sendCode(request, caller(call)) }
        await dataCenter.on(Api.Functions.auth.SignIn.self) { request, call in try await self.signIn(request, caller(call)) }
        await dataCenter.on(Api.Functions.account.GetPassword.self) { _, call in try await self.getPassword(caller(call)) }
        await dataCenter.on(Api.Functions.auth.CheckPassword.self) { request, call in try await self.checkPassword(request, caller(call)) }
        await dataCenter.on(Api.Functions.auth.LogOut.self) { _, call in try await self.logOut(caller(call)) }
        await dataCenter.on(Api.Functions.auth.ExportAuthorization.self) { request, call in
            try await self.exportAuthorization(request, caller(call))
        }
        await dataCenter.on(Api.Functions.auth.ImportAuthorization.self) { request, call in
            try await self.importAuthorization(request, caller(call))
        }
        await dataCenter.on(Api.Functions.auth.ExportLoginToken.self) { request, call in
            try await self.exportLoginToken(request, caller(call))
        }
        await dataCenter.on(Api.Functions.auth.ImportLoginToken.self) { request, call in
            try await self.importLoginToken(request, caller(call))
        }
        await dataCenter.on(Api.Functions.auth.AcceptLoginToken.self) { request, call in
            try await self.acceptLoginTokenCall(request, caller(call))
        }
        await dataCenter.on(Api.Functions.users.GetUsers.self) { request, call in try await self.getUsers(request, caller(call)) }
        await dataCenter.on(Api.Functions.contacts.ResolveUsername.self) { request, call in
            try await self.resolveUsername(request, caller(call))
        }
        await dataCenter.on(Api.Functions.updates.GetState.self) { _, call in try await self.getState(caller(call)) }
        await dataCenter.on(Api.Functions.updates.GetDifference.self) { request, call in try await self.getDifference(request, caller(call)) }
        await dataCenter.on(Api.Functions.updates.GetChannelDifference.self) { request, call in
            try await self.getChannelDifference(request, caller(call))
        }
        await dataCenter.on(Api.Functions.messages.GetDialogs.self) { request, call in try await self.getDialogs(request, caller(call)) }
        await dataCenter.on(Api.Functions.messages.GetHistory.self) { request, call in try await self.getHistory(request, caller(call)) }
        await dataCenter.on(Api.Functions.messages.SendMessage.self) { request, call in try await self.sendMessage(request, caller(call)) }
        await dataCenter.on(Api.Functions.messages.ReadHistory.self) { request, call in try await self.readHistory(request, caller(call)) }
        await dataCenter.on(Api.Functions.channels.ReadHistory.self) { request, call in
            try await self.readChannelHistory(request, caller(call))
        }
    }
}
