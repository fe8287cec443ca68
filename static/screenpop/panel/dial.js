// Click-to-dial: the agent calls one of the shown contacts' numbers from their Genesys phone. The server places the
// call with the agent's own Genesys token and starts the new call's pop, like an inbound one; then the panel asks
// the Genesys desktop to show the new interaction (Client App SDK), whose panel finds its pop.

import { format, gettext } from "./i18n.js";
import { el, setText } from "./render.js";

const FAILURES = {
  login_required: () => gettext("Your Genesys Cloud sign-in has expired. Reopen the panel to place calls."),
  not_your_login: () => gettext("Your Genesys Cloud sign-in has expired. Reopen the panel to place calls."),
};

// The numbers to offer, as the contacts have them (the server reads them in the tenant's region), or the caller's.
function numbersOf(state) {
  const numbers = [];
  for (const contact of state.contacts || []) {
    for (const number of [contact.phone, contact.mobile]) {
      if (number && !numbers.includes(number)) numbers.push(number);
    }
  }
  if (!numbers.length && state.phone?.e164) numbers.push(state.phone.e164);
  return numbers;
}

export class DialPanel {
  // container: the dial section; auth: PanelAuth (fetch, genesysToken); host: connectHost()'s object.
  constructor({ container, config, auth, host, announce }) {
    this.container = container;
    this.config = config;
    this.auth = auth;
    this.host = host;
    this.announce = announce;
    this.shown = "";
    this.list = el("div", { class: "sp-dial-numbers", id: "sp-dial-numbers" });
    this.status = el("p", { class: "sp-hint", id: "sp-dial-status", role: "status" });
    this.container.replaceChildren(
      el("h2", { class: "sp-section-title" }, gettext("Call back")),
      this.list,
      this.status,
    );
  }

  hide() {
    this.container.hidden = true;
  }

  update(state) {
    const numbers = ["matched", "no_match"].includes(state.state) ? numbersOf(state) : [];
    this.container.hidden = numbers.length === 0;
    const key = numbers.join("\u0000");
    if (key === this.shown) return;
    this.shown = key;
    this.list.replaceChildren(
      ...numbers.map((number, index) => {
        const button = el(
          "gux-button",
          { id: `sp-dial-${index}`, accent: "secondary", type: "button", class: "sp-button", "data-number": number },
          number,
        );
        button.addEventListener("click", () => this.#dial(number, button));
        return button;
      }),
    );
  }

  async #dial(number, button) {
    if (button.hasAttribute("disabled")) return;
    button.setAttribute("disabled", "");
    setText(this.status, format(gettext("Calling %(number)s…"), { number }));
    try {
      const response = await this.auth.fetch(this.config.urls.dial, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ number, genesys_token: this.auth.genesysToken || "" }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const failure = FAILURES[body.error] || (() => gettext("Genesys Cloud did not place the call. Try again."));
        setText(this.status, failure());
        return;
      }
      this.announce(format(gettext("Calling %(number)s…"), { number }));
      this.host.showInteraction(body.conversation_id);
    } finally {
      button.removeAttribute("disabled");
    }
  }
}
