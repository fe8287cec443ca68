// Closing the loop from the panel: which ticket this call is about (a shown ticket, the number's last choice, a
// search result, or a new ticket), and the agent's own notes, saved as they type.
//
// The link belongs to the conversation: the server pushes it to every panel on the call (a transfer's next agent
// included) inside the pop state (`link`, `suggested_link`); a state without those members (a lookup's push) leaves
// them as shown. The note belongs to this agent alone and is read and saved over REST. Ticket text is untrusted:
// it reaches the page through textContent only (`el`), and links must be on the tenant's Freshdesk origin.

import { format, gettext, ngettext } from "./i18n.js";
import { el, safeLink, setText } from "./render.js";

const NOTE_SAVE_DELAY_MS = 800;
const NOTE_RETRY_MS = 5000;

// The agent's words for the panel API's error codes (never the server's English detail, nor a status).
const FAILURES = {
  freshdesk_busy: () => gettext("Freshdesk is busy right now. Try again in a minute."),
  freshdesk_unavailable: () => gettext("Freshdesk is not answering. Try again."),
  freshdesk_refused: () => gettext("Freshdesk refused this. Ask your admin to check the Freshdesk connection."),
  freshdesk_not_connected: () => gettext("Freshdesk is not connected for your organisation."),
  ticket_not_found: () => gettext("There is no such ticket in Freshdesk."),
  pop_not_found: () => gettext("The call has not reached the panel yet. Try again in a moment."),
  not_creatable: () => gettext("A ticket is already being created for this call."),
  validation_failed: () => gettext("Type a ticket number, an email, or at least two letters of a name."),
};

async function failureOf(response) {
  const body = await response.json().catch(() => ({}));
  if (body.error === "freshdesk_refused" && body.field) {
    return gettext("Freshdesk refused this ticket. Check the contact in Freshdesk.");
  }
  return (FAILURES[body.error] || (() => gettext("That did not work. Try again.")))();
}

function button(id, label, accent, onClick) {
  const node = el("gux-button", { id, accent, type: "button", class: "sp-button" }, label);
  node.addEventListener("click", (event) => {
    if (node.hasAttribute("disabled")) return;
    event.preventDefault();
    onClick();
  });
  return node;
}

async function busy(node, work) {
  node.setAttribute("disabled", "");
  try {
    await work();
  } finally {
    node.removeAttribute("disabled");
  }
}

function ticketLabel(id, subject) {
  return `#${id} ${subject || gettext("(no subject)")}`;
}

export class LinkPanel {
  // container: the link section; notes: the notes section; auth: PanelAuth (fetch); onState(state): show a state
  // the server answered; announce(text): the panel's polite live region.
  constructor({ container, notes, config, auth, onState, announce }) {
    this.container = container;
    this.notesContainer = notes;
    this.config = config;
    this.auth = auth;
    this.onState = onState;
    this.announce = announce;
    this.freshdeskOrigin = null;
    this.state = null;
    this.link = null;
    this.suggested = null;
    this.choicesKey = "";
    this.noteLoaded = false;
    this.noteTimer = null;
    this.noteSaved = "";
    this.#build();
    this.#buildNotes();
  }

  setSession(session) {
    this.freshdeskOrigin = session?.freshdesk_origin || null;
    this.#loadNote();
  }

  hide() {
    this.container.hidden = true;
    this.notesContainer.hidden = true;
  }

  // A state the panel accepted (`PanelView.showState` returned true).
  update(state) {
    const previousLink = this.link?.ticket_id ?? null;
    this.state = state;
    if ("link" in state) this.link = state.link || null;
    if ("suggested_link" in state) this.suggested = state.suggested_link || null;
    const settled = ["matched", "no_match"].includes(state.state);
    this.container.hidden = !settled;
    this.notesContainer.hidden = !settled;
    if (!settled) return;
    this.#renderCurrent();
    this.#renderChoices();
    this.newTicket.hidden = state.state !== "matched";
    if (this.newSubject.dataset.edited !== "true") {
      const number = String(state.phone?.display || "").replace(/^(tel|sips?):/i, "");
      this.newSubject.value = number ? format(gettext("Call from %(number)s"), { number }) : gettext("Phone call");
    }
    const linked = this.link?.ticket_id ?? null;
    if (linked !== null && linked !== previousLink) {
      this.announce(format(gettext("This call is linked to ticket #%(id)s."), { id: linked }));
    }
  }

  // -- the link -----------------------------------------------------------------------------------------------

  #build() {
    this.current = el("p", { class: "sp-link-current", id: "sp-link-current" });
    this.select = el("select", { id: "sp-link-select", class: "sp-select" });
    this.linkButton = button("sp-link-button", gettext("Link call"), "secondary", () =>
      busy(this.linkButton, () => this.#linkTo(Number(this.select.value), this.linkError)),
    );
    this.linkError = el("p", { class: "sp-form-error", id: "sp-link-error", role: "alert" });
    this.choices = el(
      "div",
      { class: "sp-link-choices", id: "sp-link-choices" },
      el("label", { for: "sp-link-select", class: "sp-picker-label" }, gettext("Which ticket is this call about?")),
      el("div", { class: "sp-link-row" }, this.select, this.linkButton),
      this.linkError,
    );

    this.searchInput = el("input", {
      id: "sp-search-input",
      class: "sp-input",
      type: "search",
      maxlength: "200",
      autocomplete: "off",
      placeholder: gettext("Ticket number, email, name or company"),
    });
    this.searchButton = button("sp-search-button", gettext("Search"), "secondary", () => this.search.requestSubmit());
    this.searchError = el("p", { class: "sp-form-error", id: "sp-search-error", role: "alert" });
    this.results = el("ul", { class: "sp-search-results", id: "sp-search-results" });
    this.search = el(
      "form",
      { class: "sp-search", id: "sp-search", role: "search", novalidate: true },
      el("label", { for: "sp-search-input", class: "sp-picker-label" }, gettext("Search Freshdesk")),
      el("div", { class: "sp-link-row" }, this.searchInput, this.searchButton),
      this.searchError,
      this.results,
    );
    this.search.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(this.searchButton, () => this.#search());
    });

    this.newSubject = el("input", { id: "sp-new-subject", class: "sp-input", type: "text", maxlength: "255" });
    this.newSubject.addEventListener("input", () => (this.newSubject.dataset.edited = "true"));
    this.newButton = button("sp-new-button", gettext("Create and link"), "secondary", () =>
      busy(this.newButton, () => this.#create()),
    );
    this.newError = el("p", { class: "sp-form-error", id: "sp-new-error", role: "alert" });
    this.newTicket = el(
      "div",
      { class: "sp-new-ticket", id: "sp-new-ticket" },
      el("label", { for: "sp-new-subject", class: "sp-picker-label" }, gettext("Or create a new ticket")),
      el("div", { class: "sp-link-row" }, this.newSubject, this.newButton),
      this.newError,
    );

    this.container.replaceChildren(
      el("h2", { class: "sp-section-title", id: "sp-link-title" }, gettext("This call is about")),
      this.current,
      this.choices,
      this.search,
      this.newTicket,
    );
  }

  #renderCurrent() {
    if (!this.link) {
      this.current.dataset.ticketId = "";
      setText(this.current, gettext("No ticket chosen for this call yet."));
      return;
    }
    this.current.dataset.ticketId = String(this.link.ticket_id);
    const label = ticketLabel(this.link.ticket_id, this.link.subject);
    const href = safeLink(`${this.freshdeskOrigin}/a/tickets/${this.link.ticket_id}`, this.freshdeskOrigin);
    const target = href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, label) : label;
    this.current.replaceChildren(el("span", { class: "sp-link-badge" }, gettext("Linked")), " ", target);
  }

  // The number's last choice first, then the tickets shown; the agent's pick survives a live update.
  #renderChoices() {
    const options = [];
    const seen = new Set();
    if (this.suggested) {
      seen.add(this.suggested.ticket_id);
      options.push([
        this.suggested.ticket_id,
        format(gettext("Last chosen for this number: %(ticket)s"), {
          ticket: ticketLabel(this.suggested.ticket_id, this.suggested.subject),
        }),
      ]);
    }
    for (const contact of this.state?.contacts || []) {
      for (const ticket of contact.tickets || []) {
        if (seen.has(ticket.id)) continue;
        seen.add(ticket.id);
        options.push([ticket.id, ticketLabel(ticket.id, ticket.subject)]);
      }
    }
    this.choices.hidden = options.length === 0;
    const key = JSON.stringify(options);
    if (key === this.choicesKey) return; // an open list keeps its place while nothing it shows changed
    this.choicesKey = key;
    const picked = this.select.value;
    this.select.replaceChildren(...options.map(([id, label]) => el("option", { value: String(id) }, label)));
    if (picked && seen.has(Number(picked))) this.select.value = picked;
    else if (this.link && seen.has(this.link.ticket_id)) this.select.value = String(this.link.ticket_id);
  }

  async #linkTo(ticketId, errorNode) {
    setText(errorNode, "");
    if (!ticketId) return;
    const response = await this.auth.fetch(this.config.urls.link, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ticket_id: ticketId }),
    });
    if (!response.ok) {
      setText(errorNode, await failureOf(response));
      return;
    }
    this.onState(await response.json());
  }

  async #search() {
    const query = this.searchInput.value.trim();
    setText(this.searchError, "");
    if (!query) {
      setText(this.searchError, FAILURES.validation_failed());
      this.searchInput.focus();
      return;
    }
    this.results.replaceChildren();
    this.results.dataset.state = "searching";
    const response = await this.auth.fetch(this.config.urls.search, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query }),
    });
    if (!response.ok) {
      this.results.dataset.state = "failed";
      setText(this.searchError, await failureOf(response));
      return;
    }
    const { tickets } = await response.json();
    this.results.dataset.state = "done";
    if (!tickets.length) {
      this.results.append(el("li", { class: "sp-empty" }, gettext("No tickets found.")));
      this.announce(gettext("No tickets found."));
      return;
    }
    for (const ticket of tickets) {
      const href = safeLink(ticket.url, this.freshdeskOrigin);
      const label = ticketLabel(ticket.id, ticket.subject);
      const item = el(
        "li",
        { class: "sp-search-result", "data-ticket-id": String(ticket.id) },
        el(
          "span",
          { class: "sp-search-text" },
          href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, label) : label,
          el("span", { class: "sp-ticket-meta" }, [ticket.found_by, ticket.status_label].filter(Boolean).join(" · ")),
        ),
      );
      const linkIt = button(`sp-result-link-${ticket.id}`, gettext("Link"), "secondary", () =>
        busy(linkIt, () => this.#linkTo(ticket.id, this.searchError)),
      );
      linkIt.classList.add("sp-result-link");
      item.append(linkIt);
      this.results.append(item);
    }
    this.announce(
      format(ngettext("%(count)s ticket found.", "%(count)s tickets found.", tickets.length), {
        count: tickets.length,
      }),
    );
  }

  async #create() {
    const subject = this.newSubject.value.trim();
    setText(this.newError, "");
    if (!subject) {
      setText(this.newError, gettext("Enter a subject."));
      this.newSubject.focus();
      return;
    }
    const contactId = Number(document.getElementById("sp-contact-select")?.value) || undefined;
    const response = await this.auth.fetch(this.config.urls.linkedTicket, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ subject, contact_id: contactId }),
    });
    if (!response.ok) {
      setText(this.newError, await failureOf(response));
      return;
    }
    this.newSubject.dataset.edited = "false";
    this.onState(await response.json());
  }

  // -- the agent's note ---------------------------------------------------------------------------------------

  #buildNotes() {
    this.note = el("textarea", { id: "sp-note", class: "sp-note", rows: "4", maxlength: "5000" });
    this.noteStatus = el("p", { class: "sp-hint sp-note-status", id: "sp-note-status", "aria-live": "polite" });
    this.note.addEventListener("input", () => this.#noteChanged());
    this.note.addEventListener("blur", () => this.#saveNote());
    // Closing the panel (end of the call) must not lose the last words typed.
    window.addEventListener("pagehide", () => this.#saveNote({ keepalive: true }));
    this.notesContainer.replaceChildren(
      el("label", { for: "sp-note", class: "sp-section-title" }, gettext("Your notes")),
      el("p", { class: "sp-hint" }, gettext("Only you see them; they go into the call's note on the ticket.")),
      this.note,
      this.noteStatus,
    );
  }

  async #loadNote() {
    if (this.noteLoaded) return;
    const response = await this.auth.fetch(this.config.urls.note, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { text } = await response.json();
    this.noteLoaded = true;
    this.noteSaved = text;
    // What the agent typed meanwhile wins over what the server had.
    if (!this.note.value) this.note.value = text;
    this.notesContainer.dataset.loaded = "true";
  }

  #noteChanged() {
    setText(this.noteStatus, "");
    window.clearTimeout(this.noteTimer);
    this.noteTimer = window.setTimeout(() => this.#saveNote(), NOTE_SAVE_DELAY_MS);
  }

  async #saveNote({ keepalive = false } = {}) {
    window.clearTimeout(this.noteTimer);
    const text = this.note.value;
    if (text === this.noteSaved) return;
    setText(this.noteStatus, gettext("Saving…"));
    let response = null;
    try {
      response = await this.auth.fetch(this.config.urls.note, {
        method: "PUT",
        keepalive,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
    } catch {
      response = null;
    }
    if (response?.ok) {
      this.noteSaved = text;
      this.notesContainer.dataset.saved = text.length ? "true" : "empty";
      if (this.note.value === text) setText(this.noteStatus, gettext("Saved"));
      return;
    }
    setText(this.noteStatus, gettext("Not saved yet. Trying again…"));
    this.noteTimer = window.setTimeout(() => this.#saveNote(), NOTE_RETRY_MS);
  }
}
