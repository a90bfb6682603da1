// The operator console: a client of the gateway's REST API and real-time hub, like any CRM.
// No framework and no build step; every text from the network goes into the page as text.
import { HubSocket } from "./socket.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "channelgateway.token";

const session = {
  token: "",
  identity: null,        // {userId, organizationId, role, email}
  hub: null,
  timers: [],
};

const inbox = {
  chats: [],             // as GET /api/messaging/chats answers, newest activity first
  open: null,            // {bdAccountId, chatId, channel, title}
  messages: new Map(),   // id → message, of the open chat
};

const accounts = { list: [], login: null /* {account, method, timer, qrUrl} */ };
const health = { lastStored: null, lastAt: 0, timer: null };

// ---------------------------------------------------------------------------------------------
// Helpers

class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401 && path.startsWith("/api/") && session.identity) signOut("Your token was refused (expired or revoked). Sign in again.");
  if (!response.ok) {
    let error = {};
    try { error = (await response.json()).error ?? {}; } catch { /* not JSON */ }
    throw new APIError(response.status, error.code ?? "http_error", error.message ?? `${response.status} ${response.statusText}`);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** Creates an element: `el("li", {class: "x", text: "y", dataset: {id: 1}}, child, …)`. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function uuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));   // randomUUID needs a secure context
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
                 : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

function toast(message, kind = "info") {
  const box = $("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/** The token's claims, for display only (the server verifies it). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + (4 - part.length % 4) % 4, "=")));
  } catch {
    return {};
  }
}

const isAdmin = () => session.identity?.role === "admin";
const chatKey = (bdAccountId, chatId) => `${bdAccountId}\u0000${chatId}`;

// ---------------------------------------------------------------------------------------------
// Sign-in and the hub

async function signIn(token) {
  session.token = token.trim();
  const claimed = claims(session.token);
  session.identity = {
    userId: claimed.sub ?? claimed.id, organizationId: claimed.organizationId, role: claimed.role, email: claimed.email,
  };
  try {
    await api("/api/bd-accounts");
  } catch (error) {
    session.identity = null;
    session.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    $("sign-in-error").textContent = error.status === 401 ? `Token refused: ${error.message}` : `Cannot reach the gateway: ${error.message}`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, session.token);
  $("sign-in-error").textContent = "";
  $("token").value = "";
  $("sign-in").hidden = true;
  $("sections").hidden = false;
  $("who").hidden = false;
  showIdentity();
  startHub();
  await Promise.all([loadChats(), loadAccounts(), loadPlatforms()]);
  route();
}

function signOut(reason) {
  session.hub?.close();
  session.hub = null;
  session.identity = null;
  session.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  stopLogin();
  stopHealth();
  for (const id of ["view-inbox", "view-accounts", "view-health"]) $(id).hidden = true;
  $("sections").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = reason ?? "";
  $("token").focus();
}

function showIdentity() {
  const { userId, organizationId, role } = session.identity;
  $("identity").textContent = `${userId ?? "?"} · ${organizationId ?? "?"}${role ? ` · ${role}` : ""}`;
  $("connect-card").hidden = !isAdmin();
}

function startHub() {
  const hub = new HubSocket(() => session.token);
  session.hub = hub;
  hub.on("state", (state, detail) => {
    const live = $("live");
    live.dataset.state = state;
    live.textContent = { connected: "live", connecting: "connecting…", reconnecting: "reconnecting…", refused: "refused" }[state] ?? "offline";
    if (state === "refused") toast(`Real-time updates refused: ${detail}`, "error");
  });
  hub.on("connected", (info) => {
    session.identity = { ...session.identity, ...info };
    showIdentity();
    // Events missed while disconnected and not recovered by offset: read the state again.
    if (info.recovered === false) { loadChats(); loadAccounts(); }
  });
  hub.on("event", onEvent);
  hub.connect();
}

const refreshChats = debounce(() => loadChats(), 150);
const refreshAccounts = debounce(() => loadAccounts(), 150);

function onEvent(event) {
  const data = event.data ?? {};
  switch (event.type) {
    case "MESSAGE_RECEIVED":
    case "MESSAGE_SENT":
      if (inbox.open && inbox.open.bdAccountId === data.bdAccountId && inbox.open.chatId === data.chatId) {
        inbox.messages.set(data.id, data);
        renderMessages();
      }
      refreshChats();
      break;
    case "MESSAGE_STATUS": {
      const message = inbox.messages.get(data.messageId);
      if (message) {
        message.status = data.status;
        message.error = data.error;
        renderMessages();
      }
      break;
    }
    case "BD_ACCOUNT_CONNECTED":
    case "BD_ACCOUNT_DISCONNECTED":
    case "BD_ACCOUNT_STATUS":
      refreshAccounts();
      if (accounts.login?.account.id === data.id) showLoginStep({ ...accounts.login.account, ...data });
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Views

const VIEWS = ["inbox", "accounts", "health"];

function route() {
  if (!session.identity) return;
  const view = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "inbox";
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  for (const button of document.querySelectorAll("#sections button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (view === "health") startHealth(); else stopHealth();
}

// Inbox ---------------------------------------------------------------------------------------

async function loadChats() {
  const unread = $("unread-only").checked ? "&unread=true" : "";
  try {
    const page = await api(`/api/messaging/chats?limit=200${unread}`);
    inbox.chats = page.chats;
    renderChats();
  } catch (error) {
    toast(`Chats: ${error.message}`, "error");
  }
}

function renderChats() {
  const list = $("chat-list");
  list.replaceChildren(...inbox.chats.map((chat) => {
    const open = inbox.open && inbox.open.bdAccountId === chat.bdAccountId && inbox.open.chatId === chat.chatId;
    const last = chat.lastMessage;
    const title = chat.title || chat.chatId;
    return el("li", { dataset: { key: chatKey(chat.bdAccountId, chat.chatId) } },
      el("button", {
        type: "button", class: "chat", "aria-current": open ? "true" : null,
        "aria-label": `${title}, ${chat.channel}${chat.unreadCount ? `, ${chat.unreadCount} unread` : ""}`,
        onclick: () => openChat(chat),
      },
        el("span", { class: "chat-title", text: title }),
        el("span", { class: "chat-time", text: formatTime(chat.lastActivity) }),
        el("span", { class: "chat-preview", text: last ? `${last.direction === "outbound" ? "You: " : ""}${last.content ?? ""}` : "" }),
        el("span", { class: "channel-badge", text: chat.channel }),
        chat.unreadCount > 0 ? el("span", { class: "unread", text: String(chat.unreadCount) }) : null));
  }));
  $("chats-empty").hidden = inbox.chats.length > 0;
}

async function openChat(chat) {
  inbox.open = { bdAccountId: chat.bdAccountId, chatId: chat.chatId, channel: chat.channel, title: chat.title || chat.chatId };
  inbox.messages = new Map();
  $("conversation-title").textContent = inbox.open.title;
  $("send-form").hidden = false;
  $("mark-read").disabled = false;
  document.querySelector(".inbox").classList.add("showing-conversation");
  renderChats();
  const query = new URLSearchParams({ bdAccountId: chat.bdAccountId, chatId: chat.chatId, limit: "100" });
  try {
    const page = await api(`/api/messaging/messages?${query}`);
    for (const message of page.messages) inbox.messages.set(message.id, message);
    renderMessages();
  } catch (error) {
    toast(`Messages: ${error.message}`, "error");
  }
  $("send-text").focus();
}

function renderMessages() {
  const sorted = [...inbox.messages.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...sorted.map((message) => el("li", {
    class: `message ${message.direction}`, dataset: { id: message.id, status: message.status },
  },
    el("p", { class: "text", text: message.content ?? "" }),
    el("p", { class: "meta" },
      el("time", { datetime: message.createdAt, text: formatTime(message.createdAt) }),
      message.direction === "outbound" ? el("span", { class: "status", text: message.status }) : null,
      message.error ? el("span", { class: "error", text: message.error }) : null))));
  if (atBottom || sorted.length < 30) list.scrollTop = list.scrollHeight;
}

async function sendMessage(event) {
  event.preventDefault();
  const text = $("send-text").value.trim();
  if (!text || !inbox.open) return;
  const button = $("send-button");
  button.disabled = true;
  try {
    const message = await api("/api/messaging/send", {
      method: "POST",
      body: { channel: inbox.open.channel, channelId: inbox.open.chatId, bdAccountId: inbox.open.bdAccountId, content: text, idempotencyKey: uuid() },
    });
    inbox.messages.set(message.id, message);
    renderMessages();
    $("send-text").value = "";
  } catch (error) {
    toast(`Not sent: ${error.message}`, "error");
  } finally {
    button.disabled = false;
    $("send-text").focus();
  }
}

function toggleNewChat(show) {
  const form = $("new-chat-form");
  form.hidden = !show;
  $("new-chat").setAttribute("aria-expanded", String(show));
  if (!show) return;
  const connected = accounts.list.filter((account) => account.status === "connected");
  $("new-chat-account").replaceChildren(...connected.map((account) => el("option", {
    value: account.id, text: `${account.displayName || account.phoneNumber || account.email || account.id} (${account.platform})`,
  })));
  if (connected.length === 0) toast("Connect an account first (Accounts).", "error");
  $("new-chat-to").focus();
}

/** Starts a conversation: the first message creates the chat, then it opens. */
async function startChat(event) {
  event.preventDefault();
  const account = accounts.list.find((candidate) => candidate.id === $("new-chat-account").value);
  const chatId = $("new-chat-to").value.trim();
  const content = $("new-chat-text").value.trim();
  if (!account || !chatId || !content) return;
  try {
    const message = await api("/api/messaging/send", {
      method: "POST", body: { channel: account.platform, channelId: chatId, bdAccountId: account.id, content, idempotencyKey: uuid() },
    });
    $("new-chat-to").value = "";
    $("new-chat-text").value = "";
    toggleNewChat(false);
    await loadChats();
    await openChat({ bdAccountId: account.id, chatId: message.chatId, channel: account.platform, title: message.chatId });
  } catch (error) {
    toast(`Not sent: ${error.message}`, "error");
  }
}

async function markRead() {
  if (!inbox.open) return;
  try {
    await api(`/api/messaging/chats/${encodeURIComponent(inbox.open.chatId)}/mark-all-read`, {
      method: "POST", body: { bdAccountId: inbox.open.bdAccountId },
    });
    for (const message of inbox.messages.values()) message.isRead = true;
    await loadChats();
  } catch (error) {
    toast(`Mark as read: ${error.message}`, "error");
  }
}

// Accounts ------------------------------------------------------------------------------------

async function loadAccounts() {
  try {
    accounts.list = (await api("/api/bd-accounts")).accounts;
    renderAccounts();
  } catch (error) {
    toast(`Accounts: ${error.message}`, "error");
  }
}

function renderAccounts() {
  const body = document.querySelector("#account-table tbody");
  body.replaceChildren(...accounts.list.map((account) => el("tr", { dataset: { id: account.id } },
    el("td", {}, el("span", { class: "account-name", text: account.displayName || account.phoneNumber || account.email || account.id }),
      el("span", { class: "sub", text: account.id })),
    el("td", { text: account.platform }),
    el("td", {}, el("span", { class: "status-badge", dataset: { status: account.status }, text: account.status.replace("_", " ") }),
      account.error ? el("span", { class: "sub error", text: account.error }) : null),
    el("td", {}, account.lastActivity ? el("time", { datetime: account.lastActivity, text: new Date(account.lastActivity).toLocaleString() }) : "—"),
    el("td", { class: "actions" },
      isAdmin() && account.status !== "disconnected"
        ? el("button", { type: "button", text: "Disconnect", onclick: () => disconnect(account) }) : null,
      isAdmin() ? el("button", { type: "button", class: "danger", text: "Remove", onclick: () => removeAccount(account) }) : null))));
  $("accounts-empty").hidden = accounts.list.length > 0;
}

async function loadPlatforms() {
  try {
    const report = await fetch("/health").then((response) => response.json());
    const platforms = [...new Set(report.plugins.filter((p) => p.state === "loaded" && p.platform).map((p) => p.platform))];
    const select = $("connect-platform");
    const current = select.value;
    select.replaceChildren(...platforms.map((platform) => el("option", { value: platform, text: platform })));
    if (platforms.includes(current)) select.value = current;
    showPlatformFields();
  } catch (error) {
    toast(`Channels: ${error.message}`, "error");
  }
}

function showPlatformFields() {
  const platform = $("connect-platform").value;
  for (const fieldset of document.querySelectorAll("#connect-form fieldset")) fieldset.hidden = fieldset.dataset.platform !== platform;
  // A QR login needs no phone number: Telegram tells it once the code is scanned.
  $("telegram-phone-field").hidden = document.querySelector("input[name=method]:checked").value === "qr";
}

function connectBody() {
  const platform = $("connect-platform").value;
  const body = { platform };
  if (platform === "telegram") {
    body.method = document.querySelector("input[name=method]:checked").value;
    const phone = $("telegram-phone").value.trim();
    if (body.method === "code" || phone) body.phoneNumber = phone;
  } else if (platform === "email") {
    const server = (kind) => ({
      host: $(`${kind}-host`).value.trim(), port: Number($(`${kind}-port`).value), tls: $(`${kind}-tls`).value,
      username: $("mail-user").value.trim(), password: $("mail-password").value,
    });
    body.config = { smtp: server("smtp"), imap: { ...server("imap"), mailbox: $("imap-mailbox").value.trim() || "INBOX" } };
  }
  return body;
}

async function connect(event) {
  event.preventDefault();
  $("connect-error").textContent = "";
  const button = $("connect-button");
  button.disabled = true;
  try {
    const body = connectBody();
    const account = await api("/api/bd-accounts/connect", { method: "POST", body });
    stopLogin();
    accounts.login = { account, method: body.method };
    showLoginStep(account);
    await loadAccounts();
  } catch (error) {
    $("connect-error").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

/** Shows what the account's login needs next, and keeps watching it until it settles. */
function showLoginStep(account) {
  const login = accounts.login;
  if (!login) return;
  login.account = account;
  const step = $("login-step");
  step.hidden = false;
  $("code-form").hidden = account.status !== "awaiting_code";
  $("password-form").hidden = account.status !== "awaiting_password";
  const showQR = account.status === "connecting" && login.method === "qr";
  $("qr").hidden = !showQR;
  const name = account.displayName || account.phoneNumber || account.email || account.id;
  $("login-message").textContent = {
    connecting: showQR ? "Waiting for the QR code to be scanned…" : "Connecting…",
    awaiting_code: "Enter the code the channel sent.",
    awaiting_password: "This account has two-step verification: enter its password.",
    connected: `Connected: ${name}.`,
    disconnected: "Disconnected.",
    error: `Could not connect: ${account.error ?? "unknown error"}`,
  }[account.status] ?? account.status;
  $("login-step").dataset.status = account.status;
  if (account.status === "awaiting_code") $("login-code").focus();
  if (account.status === "awaiting_password") $("login-password").focus();
  if (showQR && !login.timer) {
    refreshQR();
    login.timer = setInterval(refreshQR, 5000);
  }
  if (["connected", "error", "disconnected"].includes(account.status)) stopLogin({ keepMessage: true });
}

/** The QR shows the login URL the plugin holds now (it rotates); the status is read as well. */
async function refreshQR() {
  const login = accounts.login;
  if (!login) return;
  try {
    const status = await api(`/api/bd-accounts/${login.account.id}/status`);
    if (status.status !== "connecting") {
      showLoginStep({ ...login.account, ...status });
      return;
    }
    const response = await api(`/api/bd-accounts/${login.account.id}/login-qr`, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const image = $("qr-image");
    if (login.qrUrl) URL.revokeObjectURL(login.qrUrl);
    login.qrUrl = url;
    image.src = url;
  } catch (error) {
    if (error.status !== 409) toast(`QR code: ${error.message}`, "error");
  }
}

function stopLogin({ keepMessage = false } = {}) {
  const login = accounts.login;
  if (login?.timer) clearInterval(login.timer);
  if (login?.qrUrl) URL.revokeObjectURL(login.qrUrl);
  if (login) { login.timer = null; login.qrUrl = null; }
  if (!keepMessage) {
    accounts.login = null;
    $("login-step").hidden = true;
  } else {
    $("qr").hidden = true;
    $("code-form").hidden = true;
    $("password-form").hidden = true;
  }
}

async function submitSecret(event, kind) {
  event.preventDefault();
  const login = accounts.login;
  if (!login) return;
  const input = kind === "code" ? $("login-code") : $("login-password");
  try {
    const account = await api(`/api/bd-accounts/${login.account.id}/${kind}`, {
      method: "POST", body: kind === "code" ? { phoneCode: input.value.trim() } : { password: input.value },
    });
    input.value = "";
    showLoginStep(account);
    await loadAccounts();
  } catch (error) {
    $("login-message").textContent = error.message;
  }
}

async function disconnect(account) {
  try {
    await api(`/api/bd-accounts/${account.id}/disconnect`, { method: "POST" });
    await loadAccounts();
  } catch (error) {
    toast(`Disconnect: ${error.message}`, "error");
  }
}

async function removeAccount(account) {
  if (!confirm(`Remove ${account.displayName || account.id}? It is logged out at the channel and its session deleted.`)) return;
  try {
    await api(`/api/bd-accounts/${account.id}`, { method: "DELETE" });
    await loadAccounts();
  } catch (error) {
    toast(`Remove: ${error.message}`, "error");
  }
}

// Health --------------------------------------------------------------------------------------

function startHealth() {
  if (health.timer) return;
  loadHealth();
  health.timer = setInterval(loadHealth, 5000);
}

function stopHealth() {
  clearInterval(health.timer);
  health.timer = null;
}

/** The value of an unlabelled Prometheus counter in a text exposition. */
function metric(text, name) {
  const line = text.split("\n").find((row) => row.startsWith(`${name} `) || row.startsWith(`${name}{`));
  return line ? Number(line.split(" ").pop()) : null;
}

async function loadHealth() {
  try {
    const report = await fetch("/health").then((response) => response.json());
    let rate = "—";
    const metrics = await fetch("/metrics", { headers: { Authorization: `Bearer ${session.token}` } });
    if (metrics.ok) {
      const stored = metric(await metrics.text(), "gateway_messages_stored_total");
      const now = performance.now();
      if (stored !== null && health.lastStored !== null && now > health.lastAt) {
        rate = `${((stored - health.lastStored) / ((now - health.lastAt) / 1000)).toFixed(1)} /s`;
      }
      health.lastStored = stored;
      health.lastAt = now;
    }
    const summary = [
      ["Status", report.status], ["Version", report.version], ["Uptime", `${Math.round(report.uptimeSeconds)} s`],
      ["Store", `${report.store.backend} · ${report.store.status}`], ["Messages", report.store.messages ?? "—"],
      ["Chats", report.store.chats ?? "—"], ["Accounts", report.store.accounts ?? "—"], ["Messages stored", rate],
      ["Ingest backlog", report.pipeline.backlog], ["Hub connections", report.hub.connections],
    ];
    $("health-summary").replaceChildren(...summary.map(([term, value]) =>
      el("div", {}, el("dt", { text: term }), el("dd", { text: String(value) }))));
    document.querySelector("#plugin-table tbody").replaceChildren(...report.plugins.map((plugin) => el("tr", {},
      el("td", { text: plugin.name }), el("td", { text: plugin.platform ?? "—" }), el("td", { text: plugin.version ?? "—" }),
      el("td", {}, el("span", { class: "status-badge", dataset: { status: plugin.state }, text: plugin.state }),
        plugin.reason ? el("span", { class: "sub error", text: plugin.reason }) : null))));
    document.querySelector("#connection-table tbody").replaceChildren(
      ...Object.entries(report.hub.connectionsPerOrganization).sort().map(([org, count]) =>
        el("tr", {}, el("td", { text: org }), el("td", { text: String(count) }))));
  } catch (error) {
    toast(`Health: ${error.message}`, "error");
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function wire() {
  $("sign-in-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("token").value); });
  $("sign-out").addEventListener("click", () => signOut());
  for (const button of document.querySelectorAll("#sections button")) {
    button.addEventListener("click", () => { location.hash = button.dataset.view; });
  }
  window.addEventListener("hashchange", route);
  $("unread-only").addEventListener("change", loadChats);
  $("send-form").addEventListener("submit", sendMessage);
  $("send-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("send-form").requestSubmit(); }
  });
  $("mark-read").addEventListener("click", markRead);
  $("new-chat").addEventListener("click", () => toggleNewChat($("new-chat-form").hidden));
  $("new-chat-cancel").addEventListener("click", () => toggleNewChat(false));
  $("new-chat-form").addEventListener("submit", startChat);
  $("back-to-chats").addEventListener("click", () => document.querySelector(".inbox").classList.remove("showing-conversation"));
  $("connect-platform").addEventListener("change", showPlatformFields);
  for (const radio of document.querySelectorAll("input[name=method]")) radio.addEventListener("change", showPlatformFields);
  $("connect-form").addEventListener("submit", connect);
  $("code-form").addEventListener("submit", (event) => submitSecret(event, "code"));
  $("password-form").addEventListener("submit", (event) => submitSecret(event, "password"));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
  else $("token").focus();
}

wire();
