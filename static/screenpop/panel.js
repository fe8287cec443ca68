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

function show(state) {
  if (!view.showState(state)) return;
  links.update(state);
  dialling.update(state);
  // One toast per outage shown, not per push.
  if (state.state === "unavailable" && lastToasted !== state.updated_at) {
    lastToasted = state.updated_at;
    host.toast(
      `screenpop-unavailable-${config.conversationId}`,
      gettext("Freshdesk unavailable"),
      gettext("The caller's tickets cannot be shown right now. Use Try again in the panel."),
      "error",
    );
  }
}

function fatal(code, detail = "") {
  live?.stop();
  live = null;
  links.hide();
  dialling.hide();
  view.showSessionError(code, detail);
}

async function start() {
  view.loading();
  let session;
  try {
    session = await auth.start();
  } catch (error) {
    fatal(error instanceof PanelError ? error.code : "failure", error?.detail || "");
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
