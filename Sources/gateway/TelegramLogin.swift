import ArgumentParser
import Foundation
import GatewayCore

#if canImport(Glibc)
import Glibc
#endif

struct Telegram: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Telegram accounts from the terminal.", subcommands: [TelegramLoginCommand.self])
}

/// `gateway telegram login --phone …`: the API's login (code, then 2FA password) at a prompt, for
/// operators without a CRM in front. The session is saved like one connected through the API; a
/// running gateway picks it up at its next start.
struct TelegramLoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "login", abstract: "Log a Telegram account in interactively.")

    @OptionGroup var options: ConfigOptions
    @Option(help: "The account's phone number, international format.") var phone: String
    @Option(help: "Organization that owns the account.") var org: String
    @Option(help: "api_id (default: the plugin config's).") var apiId: Int?
    @Option(help: "api_hash (default: the plugin config's).") var apiHash: String?
    @Option(help: "Directory holding plugin libraries named by relative paths.") var pluginDir: String?
    @Option(help: "Attempts per step before giving up.") var attempts = 3

    func run() async throws {
        let config = try options.load()
        let gateway = try await Gateway(config: config, pluginDirectory: pluginDir, logger: makeLogger(level: "warning"))
        await gateway.start()
        let login = TerminalLogin(gateway: gateway, organizationId: org)
        var succeeded = false
        do {
            var account = try await login.connect(platform: "telegram", phoneNumber: phone, apiId: apiId, apiHash: apiHash)
            var tries = 0
            while account.status == .awaitingCode || account.status == .awaitingPassword, tries < attempts * 2 {
                tries += 1
                let asksCode = account.status == .awaitingCode
                guard let answer = asksCode ? prompt("Code from the Telegram app: ") : secretPrompt("2FA password: ") else {
                    throw ValidationError("no input")
                }
                do {
                    account = asksCode ? try await login.submitCode(answer, account: account.id)
                        : try await login.submitPassword(answer, account: account.id)
                } catch {
                    print(TerminalLogin.describe(error))
                }
            }
            if account.status == .connected {
                print("Logged in: account \(account.id) (\(phone)) in organization \(org).")
                // Let the plugin persist the session before closing.
                try await Task.sleep(for: .seconds(1))
                succeeded = true
            } else {
                print("Not logged in: the account is \(account.status.rawValue)\(account.error.map { " (\($0))" } ?? "").")
            }
        } catch {
            print("Login failed: \(TerminalLogin.describe(error))")
        }
        await gateway.stop()
        if !succeeded { throw ExitCode(1) }
    }

    private func prompt(_ text: String) -> String? {
        print(text, terminator: "")
        fflush(nil)
        return readLine()?.trimmingCharacters(in: .whitespaces)
    }

    /// Without echo on a terminal; plain readLine when input is piped (scripts, tests).
    private func secretPrompt(_ text: String) -> String? {
        guard isatty(STDIN_FILENO) != 0, let entered = getpass(text) else { return prompt(text) }
        return String(cString: entered)
    }
}
