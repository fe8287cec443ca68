// The live connection to the pop: the WebSocket /ws/pops/<id>/ (the server sends the state on connect, then every
// change). The panel token goes in the subprotocol list (`screenpop.token.<token>`, next to `screenpop.v1`, which the
// server accepts), never in the URL: request lines end up in server and proxy logs, that header does not. The socket
// reconnects with backoff and jitter. While it is down, the REST endpoint is polled instead; a reconnect re-reads the
// state (sent on connect), so nothing missed meanwhile is lost.

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
const POLL_PENDING_MS = 2500;
const POLL_SETTLED_MS = 10000;
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;
const PROTOCOL = "screenpop.v1";
const TOKEN_PROTOCOL_PREFIX = "screenpop.token.";

export class LiveConnection {
  // auth: PanelAuth (panelToken, renew(), fetch()); onState(state); onStatus("live"|"polling"|"reconnecting");
  // onFatal(code) when the server refuses this panel for good.
  constructor({ config, auth, onState, onStatus, onFatal }) {
    this.config = config;
    this.auth = auth;
    this.onState = onState;
    this.onStatus = onStatus;
    this.onFatal = onFatal;
    this.socket = null;
    this.failures = 0;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.polling = false;
    this.lastState = null;
    this.stopped = false;
    this.renewedForSocket = false;
    window.addEventListener("online", () => this.#reconnectSoon(0));
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.socket) this.#reconnectSoon(0);
    });
  }

  start() {
    if (typeof WebSocket === "undefined") {
      this.#startPolling();
      this.onStatus("polling");
      return;
    }
    this.#connect();
  }

  stop() {
    this.stopped = true;
    window.clearTimeout(this.reconnectTimer);
    window.clearTimeout(this.pollTimer);
    if (this.socket) this.socket.close(1000);
  }

  // Ask for the current state again (after an action whose answer the socket will also push).
  refresh() {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "refresh" }));
    } else {
      this.#fetchState();
    }
  }

  // The REST state, which also explains a conversation without a pop (the socket's state does not); null when the
  // server cannot be asked now.
  async fetchExplained() {
    try {
      const response = await this.auth.fetch(this.config.urls.state, { headers: { Accept: "application/json" } });
      return response.ok ? await response.json() : null;
    } catch {
      return null;
    }
  }

  #socketUrl() {
    const url = new URL(this.config.urls.socket, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  #socketProtocols() {
    const token = this.auth.panelToken;
    return token ? [PROTOCOL, TOKEN_PROTOCOL_PREFIX + token] : [PROTOCOL];
  }

  #connect() {
    if (this.stopped) return;
    let socket;
    try {
      socket = new WebSocket(this.#socketUrl(), this.#socketProtocols());
    } catch {
      this.#failed();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.failures = 0;
      this.renewedForSocket = false;
      this.#stopPolling();
      this.onStatus("live");
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message?.type === "pop.state") this.#deliver(message);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (event.code === CLOSE_FORBIDDEN) {
        this.onFatal("not_your_conversation");
      } else if (event.code === CLOSE_UNAUTHENTICATED && !this.renewedForSocket) {
        // The panel token expired (a long call, a sleeping laptop): renew it quietly and connect again.
        this.renewedForSocket = true;
        this.auth.renew().then((session) => (session ? this.#connect() : this.onFatal("login_required")));
      } else {
        this.#failed();
      }
    });
  }

  #failed() {
    this.failures += 1;
    if (this.failures >= 2) this.#startPolling();
    this.onStatus(this.polling ? "polling" : "reconnecting");
    const base = BACKOFF_MS[Math.min(this.failures - 1, BACKOFF_MS.length - 1)];
    this.#reconnectSoon(base / 2 + Math.random() * (base / 2));
  }

  #reconnectSoon(delay) {
    if (this.stopped || this.socket) return;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(() => this.#connect(), delay);
  }

  #deliver(state) {
    this.lastState = state;
    this.onState(state);
  }

  #startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.#poll();
  }

  #stopPolling() {
    this.polling = false;
    window.clearTimeout(this.pollTimer);
  }

  async #poll() {
    window.clearTimeout(this.pollTimer);
    await this.#fetchState();
    if (!this.polling || this.stopped) return;
    const pending = !this.lastState || this.lastState.state === "pending";
    this.pollTimer = window.setTimeout(() => this.#poll(), pending ? POLL_PENDING_MS : POLL_SETTLED_MS);
  }

  async #fetchState() {
    try {
      const response = await this.auth.fetch(this.config.urls.state, { headers: { Accept: "application/json" } });
      if (response.status === 403) {
        this.#stopPolling();
        this.onFatal("not_your_conversation");
      } else if (response.status === 401) {
        this.#stopPolling();
        this.onFatal("login_required");
      } else if (response.ok) {
        this.#deliver(await response.json());
      }
    } catch {
      // Offline: the next poll or reconnect tries again.
    }
  }
}
