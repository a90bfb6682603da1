// A small Socket.IO v4 client (Engine.IO v4 over WebSocket, the default namespace) — just what the
// console needs from the gateway's hub: CONNECT with {token, offset}, events, acks, both
// heartbeats, and reconnection that recovers missed events from the last offset seen.
// Protocol: https://socket.io/docs/v4/socket-io-protocol/ and .../engine-io-protocol/

const EIO_OPEN = "0", EIO_CLOSE = "1", EIO_PING = "2", EIO_PONG = "3", EIO_MESSAGE = "4";
const SIO_CONNECT = "0", SIO_DISCONNECT = "1", SIO_EVENT = "2", SIO_ACK = "3", SIO_CONNECT_ERROR = "4";

export class HubSocket {
  /** @param {() => string} token  read at every (re)connect */
  constructor(token) {
    this.token = token;
    this.handlers = new Map();
    this.acks = new Map();
    this.nextAck = 0;
    this.offset = undefined;     // the last event offset seen: missed events are replayed from it
    this.ws = null;
    this.state = "idle";         // idle | connecting | connected | reconnecting | refused | closed
    this.attempts = 0;
    this.heartbeat = null;
    this.retry = null;
  }

  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
    return this;
  }

  fire(name, ...args) {
    for (const handler of this.handlers.get(name) ?? []) {
      try { handler(...args); } catch (error) { console.error(`hub handler for ${name}`, error); }
    }
  }

  setState(state, detail) {
    this.state = state;
    this.fire("state", state, detail);
  }

  connect() {
    clearTimeout(this.retry);
    this.setState(this.attempts === 0 ? "connecting" : "reconnecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/socket.io/?EIO=4&transport=websocket`);
    this.ws = ws;
    ws.onmessage = (message) => this.receive(String(message.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.heartbeat);
      if (this.state === "refused" || this.state === "closed") return;
      this.scheduleReconnect();
    };
  }

  close() {
    this.setState("closed");
    clearTimeout(this.retry);
    clearTimeout(this.heartbeat);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  scheduleReconnect() {
    this.attempts += 1;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(this.attempts - 1, 5)) * (0.75 + Math.random() / 2);
    this.setState("reconnecting");
    this.retry = setTimeout(() => this.connect(), delay);
  }

  /** Engine.IO's server ping must arrive within pingInterval + pingTimeout, or the link is dead. */
  armHeartbeat() {
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => this.ws?.close(), this.pingInterval + this.pingTimeout);
  }

  send(packet) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(packet);
  }

  receive(text) {
    const type = text[0], body = text.slice(1);
    switch (type) {
      case EIO_OPEN: {
        const open = JSON.parse(body);
        this.pingInterval = open.pingInterval;
        this.pingTimeout = open.pingTimeout;
        this.armHeartbeat();
        const auth = { token: this.token() };
        if (this.offset !== undefined) auth.offset = this.offset;
        this.send(EIO_MESSAGE + SIO_CONNECT + JSON.stringify(auth));
        break;
      }
      case EIO_PING:
        this.armHeartbeat();
        this.send(EIO_PONG);
        break;
      case EIO_CLOSE:
        this.ws?.close();
        break;
      case EIO_MESSAGE:
        this.receivePacket(body);
        break;
    }
  }

  receivePacket(text) {
    const type = text[0];
    let rest = text.slice(1);
    const digits = /^\d+/.exec(rest);
    const id = digits ? Number(digits[0]) : undefined;
    if (digits) rest = rest.slice(digits[0].length);
    const payload = rest ? JSON.parse(rest) : undefined;
    switch (type) {
      case SIO_CONNECT:
        this.attempts = 0;
        this.setState("connected");
        break;
      case SIO_CONNECT_ERROR:
        // A refused token does not get better by retrying: stop and say why.
        this.setState("refused", payload?.message ?? "refused");
        this.ws?.close();
        break;
      case SIO_DISCONNECT:
        this.ws?.close();
        break;
      case SIO_EVENT: {
        const [name, ...args] = payload;
        if (name === "event" && typeof args[0]?.offset === "number") this.offset = args[0].offset;
        if (name === "ping") this.emit("pong", { timestamp: Date.now() });   // the hub's application heartbeat
        this.fire(name, ...args);
        break;
      }
      case SIO_ACK: {
        const callback = this.acks.get(id);
        this.acks.delete(id);
        callback?.(...payload);
        break;
      }
    }
  }

  emit(name, data, ack) {
    let id = "";
    if (ack) {
      id = String(this.nextAck++);
      this.acks.set(Number(id), ack);
    }
    this.send(EIO_MESSAGE + SIO_EVENT + id + JSON.stringify(data === undefined ? [name] : [name, data]));
  }
}
