// The agent panel (the Interaction Widget): configuration from the page's JSON block, login, live state, actions.
// Loaded as an ES module from /static/; Genesys's Client App SDK and Spark components are loaded by the page.

import { PanelAuth, PanelError } from "./panel/auth.js";
import { connectHost } from "./panel/host.js";
import { format, gettext } from "./panel/i18n.js";
import { DialPanel } from "./panel/dial.js";
import { LinkPanel } from "./panel/link.js";
import { LiveConnection } from "./panel/live.js";
import { PanelView } from "./panel/render.js";

const config = JSON.parse(document.getElementById("sp-config").textContent);

function applyTheme(theme) {
  const root = document.documentElement;
  const set = (dark) => {
    root.dataset.theme = dark ? "dark" : "light";
    if (dark) root.setAttribute("flare-mode", "dark");
    else root.removeAttribute("flare-mode");
  };
  if (theme === "dark" || theme === "light") {
    set(theme === "dark");
    return;
  }
  const query = window.matchMedia("(prefers-color-scheme: dark)");
  set(query.matches);
  query.addEventListener("change", (event) => set(event.matches));
}

applyTheme(config.theme);
const host = connectHost(config.sdk);
const auth = new PanelAuth(config);
let live = null;
let lastToasted = null;
// A conversation without a pop: after a while the panel asks the server why (the event log may know), then again
// now and then, until the pop comes or its call event is known to have been ignored.
const WAIT_ASK_MS = [6000, 15000];
const WAIT_ASK_LIMIT = 20;
let waitTimer = null;
let waitAsked = 0;
let ignoredReason = null;
let retryTimer = null;
const LOAD_MORE = 10;

async function errorOf(response) {
  const body = await response.json().catch(() => ({}));
  return new PanelError(body.error || "failure", body.detail || "", response.status);
}

const view = new PanelView({
  language: config.language,
  actions: {
    async retry() {
      const response = await auth.fetch(config.urls.retry, { method: "POST" });
      if (response.ok) show(await response.json());
      else live?.refresh();
    },
    async create(subject) {
      const response = await auth.fetch(config.urls.tickets, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ subject }),
      });
      if (!response.ok) throw await errorOf(response);
      const created = await response.json();
      show(created);
      host.toast(
        `screenpop-created-${config.conversationId}`,
        gettext("Ticket created"),
        format(gettext("Ticket #%(id)s was created in Freshdesk."), { id: created.ticket?.id ?? "" }),
        "success",
      );
    },
    async loadMore(contactId, offset) {
      const query = new URLSearchParams({ contact: contactId, offset, limit: LOAD_MORE });
      const response = await auth.fetch(`${config.urls.tickets}?${query}`, { headers: { Accept: "application/json" } });
      if (!response.ok) throw await errorOf(response);
      return response.json();
    },
    signIn() {
      return auth.redirectToLogin({ interactive: true });
    },
    restart() {
      return start();
    },
  },
});

const links = new LinkPanel({
  container: document.getElementById("sp-link"),
  notes: document.getElementById("sp-notes"),
  config,
  auth,
  onState: (state) => show(state),
  announce: (text) => view.announce(text),
});

const dialling = new DialPanel({
  container: document.getElementById("sp-dial"),
  config,
  auth,
  host,
  announce: (text) => view.announce(text),
});

function watchWaiting(state) {
  const waiting = state.state === "pending" && state.reason === "waiting_for_call_event";
  if (!waiting || waitAsked >= WAIT_ASK_LIMIT) {
    window.clearTimeout(waitTimer);
    waitTimer = null;
    return;
  }
  if (waitTimer) return;
  waitTimer = window.setTimeout(async () => {
    const explained = await live?.fetchExplained();
    waitTimer = null;
    waitAsked += 1;
    show(explained || view.state);
  }, WAIT_ASK_MS[Math.min(waitAsked, WAIT_ASK_MS.length - 1)]);
}

// An "unavailable" pop is looked up again by the server until `retry_until`; then the panel reads the final word.
function watchRetries(state) {
  window.clearTimeout(retryTimer);
  if (state.state !== "unavailable" || !state.retrying || !state.retry_until) return;
  const wait = Date.parse(state.retry_until) - Date.now() + 1000;
  if (wait > 0 && wait < 60 * 60 * 1000) retryTimer = window.setTimeout(() => live?.refresh(), wait);
}

function show(received) {
  let state = received;
  if (received?.reason === "waiting_for_call_event") {
    // The socket's state of a conversation without a pop cannot say what the server was asked already.
    if (ignoredReason) state = { ...received, reason: ignoredReason };
    else if (waitAsked) state = { ...received, waited: true };
  } else if (received?.state === "pending" && !received?.updated_at) {
    ignoredReason = received.reason;
  }
  if (!view.showState(state)) return;
  links.update(state);
  dialling.update(state);
  watchWaiting(state);
  watchRetries(state);
  // One toast per outage shown, not per push; none while the server is still retrying.
  if (state.state === "unavailable" && !state.retrying && lastToasted !== state.updated_at) {
    lastToasted = state.updated_at;
    host.toast(
      `screenpop-unavailable-${config.conversationId}`,
      gettext("Freshdesk unavailable"),
      gettext("The caller's tickets cannot be shown right now. Use Try again in the panel."),
      "error",
    );
  }
}

function fatal(code) {
  live?.stop();
  live = null;
  links.hide();
  dialling.hide();
  view.showSessionError(code);
}

async function start() {
  view.loading();
  let session;
  try {
    session = await auth.start();
  } catch (error) {
    fatal(error instanceof PanelError ? error.code : "failure");
    return;
  }
  view.setSession(session);
  links.setSession(session);
  live?.stop();
  live = new LiveConnection({
    config,
    auth,
    onState: show,
    onStatus: (status) => {
      document.documentElement.dataset.connection = status;
    },
    onFatal: (code) => fatal(code),
  });
  live.start();
}

// When even the kept Genesys token is refused at renewal time, nothing is lost yet: the open socket stays live.
// The next reconnect or action renews again and, failing that, asks the agent to sign in.
auth.onRenewFailed = () => {
  document.documentElement.dataset.session = "renewal-failed";
};

host.bootstrapped();
start();
