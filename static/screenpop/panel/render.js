// What the agent sees. Everything from Freshdesk is untrusted: it reaches the page only through textContent and
// setAttribute, never as markup; links must be http(s) on the tenant's Freshdesk origin.
//
// A state of the same kind as the one shown is applied in place, keyed by contact and ticket id: unchanged nodes are
// left alone, so the agent's focus, text selection, picker choice and scroll position survive a live update, and a
// changed ticket gets a short highlight.

import { absoluteTime, format, gettext, ngettext, relativeTime } from "./i18n.js";
import { errorWords, numberLabel, priorityLabel, reasonWords, statusLabel } from "./words.js";

const STATUS_ACCENTS = { 2: "info", 3: "warning", 4: "success", 5: "inherit" };
// A conversation whose call event was ignored: it will never pop.
const CALL_IGNORED = new Set(["call_queue_not_watched", "call_not_inbound_voice", "call_refused"]);
const HIGHLIGHT_MS = 4000;
const CLOCK_MS = 30000;

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(node, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

function setAttr(node, name, value) {
  if (value === null || value === undefined) {
    node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, String(value));
  }
}

// The URL if it is http(s) on `origin` (the tenant's Freshdesk), else null.
export function safeLink(url, origin) {
  if (typeof url !== "string" || !origin) return null;
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return null;
  return parsed.origin === origin ? parsed.href : null;
}

function ticketFingerprint(ticket) {
  return [ticket.subject, ticket.status, ticket.status_label, ticket.priority, ticket.priority_label, ticket.updated_at]
    .map(String)
    .join("\u0000");
}

const SESSION_MESSAGES = {
  login_required: [
    () => gettext("Sign in to see the caller's tickets"),
    () => gettext("Your Genesys Cloud sign-in has expired or was not completed."),
  ],
  not_installed: [
    () => gettext("Not installed for your organisation"),
    () => gettext("Freshdesk screen pops are not installed for your Genesys Cloud organisation. Ask your Genesys Cloud admin to install the app."),
  ],
  not_your_conversation: [
    () => gettext("Not your conversation"),
    () => gettext("You are not a participant of this call in Genesys Cloud, so its caller's tickets are not shown."),
  ],
  genesys_permission: [
    () => gettext("Missing Genesys Cloud permission"),
    () => gettext("Your Genesys Cloud role cannot read conversations. Ask your admin for the conversation:communication:view permission."),
  ],
  wrong_client: [
    () => gettext("The panel is not set up correctly"),
    () => gettext("This panel signed you in with another app's client. Ask your Genesys Cloud admin to reinstall the app."),
  ],
  unsupported_environment: [
    () => gettext("Unsupported Genesys Cloud environment"),
    () => gettext("This panel only opens inside Genesys Cloud."),
  ],
};

export class PanelView {
  // actions: {retry(), create(subject), signIn(), restart()}; all return promises.
  constructor({ language, actions }) {
    this.language = language;
    this.actions = actions;
    this.main = document.getElementById("sp-panel");
    this.body = document.getElementById("sp-body");
    this.live = document.getElementById("sp-live");
    this.alertRegion = document.getElementById("sp-alert");
    this.caller = document.getElementById("sp-caller");
    this.kind = "loading";
    this.state = null;
    this.freshdeskOrigin = null;
    this.selectedContactId = null;
    this.tickets = new Map(); // ticket id -> {item, link, subject, number, badge, priority, time, fingerprint}
    this.more = new Map(); // contact id -> the tickets "load more" brought, in their order
    this.shownContactId = null;
    window.setInterval(() => this.#tickClock(), CLOCK_MS);
  }

  setSession(session) {
    this.freshdeskOrigin = session?.freshdesk_origin || null;
  }

  loading() {
    this.announce(gettext("Looking up the caller in Freshdesk…"));
  }

  announce(text) {
    // Cleared first, so the same sentence twice is announced twice.
    this.live.textContent = "";
    window.setTimeout(() => setText(this.live, text), 50);
  }

  alert(text) {
    this.alertRegion.textContent = "";
    window.setTimeout(() => setText(this.alertRegion, text), 50);
  }

  // Show a pop state; returns false when it is older than the one shown (an out-of-order delivery).
  showState(state) {
    if (!state || typeof state !== "object") return false;
    const previous = this.state;
    if (previous?.updated_at && state.updated_at && Date.parse(state.updated_at) < Date.parse(previous.updated_at)) {
      return false;
    }
    this.state = state;
    const phone = numberLabel(state.phone?.display, state.reason);
    setText(this.caller, phone);
    this.caller.hidden = !phone;
    let kind = ["matched", "no_match", "unavailable", "error"].includes(state.state) ? state.state : "pending";
    // Retries go on behind "not answering": the agent is told at once, and the tickets replace it when they come.
    if (state.retrying && (kind === "pending" || kind === "unavailable")) kind = "retrying";
    else if (kind === "pending" && CALL_IGNORED.has(state.reason)) kind = "ignored";
    const sameKind = kind === this.kind;
    if (kind === "matched") this.#showMatched(state, sameKind);
    else if (kind === "no_match") this.#showNoMatch(state, sameKind, previous);
    else if (kind === "unavailable" || kind === "error") this.#showProblem(state, kind);
    else if (kind === "retrying" || kind === "ignored") this.#showNotice(state, kind, sameKind);
    else this.#showPending(state, sameKind);
    this.main.setAttribute("aria-busy", String(kind === "pending" || kind === "retrying"));
    this.body.dataset.updatedAt = state.updated_at || "";
    return true;
  }

  showSessionError(code) {
    const [title, text] = SESSION_MESSAGES[code] || [
      () => gettext("The panel could not start"),
      () => gettext("It could not check your Genesys Cloud sign-in. Try again in a moment."),
    ];
    const section = this.#replace("session-error", code);
    section.append(el("h2", { class: "sp-message-title" }, title()), el("p", {}, text()));
    if (code === "login_required") {
      section.append(this.#button("sp-sign-in", gettext("Sign in with Genesys Cloud"), "primary", () => this.actions.signIn()));
    } else if (!SESSION_MESSAGES[code]) {
      section.append(this.#button("sp-restart", gettext("Try again"), "secondary", () => this.actions.restart()));
    }
    setText(this.caller, "");
    this.caller.hidden = true;
    this.main.setAttribute("aria-busy", "false");
    this.alert(title());
  }

  // -- states -------------------------------------------------------------------------------------------------

  #replace(kind, detail = "") {
    this.kind = kind;
    this.tickets.clear();
    this.shownContactId = null;
    const section = el("section", { class: `sp-body sp-body--${kind}`, id: "sp-body", "data-state": kind });
    if (detail) section.dataset.detail = detail;
    this.body.replaceWith(section);
    this.body = section;
    return section;
  }

  #showPending(state, sameKind) {
    if (!sameKind) {
      const section = this.#replace("pending");
      const skeleton = el("div", { class: "sp-skeleton", "aria-hidden": "true" });
      skeleton.append(el("div", { class: "sp-skeleton-line sp-skeleton-line--title" }));
      for (let i = 0; i < 3; i += 1) {
        skeleton.append(
          el(
            "div",
            { class: "sp-skeleton-card" },
            el("div", { class: "sp-skeleton-line" }),
            el("div", { class: "sp-skeleton-line sp-skeleton-line--short" }),
          ),
        );
      }
      section.append(skeleton, el("p", { class: "sp-loading-text" }, gettext("Looking up the caller in Freshdesk…")));
      section.append(el("p", { class: "sp-detail", id: "sp-pending-detail" }));
    }
    // No call event after a while (the panel asked the server why): say what that means.
    const waited = state.waited && reasonWords(state.reason);
    const detail = this.body.querySelector("#sp-pending-detail");
    if (!waited) setText(detail, "");
    else if (detail.dataset.reason !== state.reason) detail.replaceChildren(el("strong", {}, waited[0]), " ", waited[1]);
    detail.dataset.reason = waited ? state.reason : "";
  }

  // "Not answering, retrying" (the lookup goes on by itself) or "this call will never pop" (its event was ignored).
  #showNotice(state, kind, sameKind) {
    const [title, text] = reasonWords(state.reason) || reasonWords("freshdesk_not_answering");
    if (sameKind && this.body.dataset.reason === state.reason) return;
    const section = this.#replace(kind, state.reason);
    section.dataset.reason = state.reason || "";
    const alertBox = el("gux-inline-alert", { accent: kind === "retrying" ? "warning" : "info", class: "sp-inline-alert" });
    alertBox.append(el("strong", { class: "sp-notice-title" }, title), " ", el("span", { class: "sp-notice-text" }, text));
    section.append(alertBox);
    this.announce(`${title}. ${text}`);
  }

  #showProblem(state, kind) {
    const section = this.#replace(kind);
    const unavailable = kind === "unavailable";
    const title = unavailable ? gettext("Freshdesk unavailable") : gettext("The caller could not be looked up");
    let text = unavailable
      ? gettext("Freshdesk is not answering right now, so the caller's tickets cannot be shown.")
      : gettext("Something went wrong while looking the caller up in Freshdesk.");
    if (unavailable && state.reason === "freshdesk_rate_limited") text = errorWords(state.reason, text);
    const alertBox = el("gux-inline-alert", { accent: unavailable ? "warning" : "error", class: "sp-inline-alert" });
    alertBox.append(el("strong", {}, title), " ", text);
    section.append(alertBox);
    // An error needs an admin: the reason says what to ask for, in the agent's words.
    const words = !unavailable && reasonWords(state.reason);
    if (words) section.append(el("p", { class: "sp-detail", id: "sp-problem-detail" }, el("strong", {}, words[0]), " ", words[1]));
    const retry = this.#button("sp-retry", gettext("Try again"), "secondary", async () => {
      retry.setAttribute("disabled", "");
      try {
        await this.actions.retry();
      } finally {
        retry.removeAttribute("disabled");
      }
    });
    section.append(retry);
    this.alert(`${title}. ${text}`);
  }

  #showNoMatch(state, sameKind, previous) {
    const number = numberLabel(state.phone?.display, state.reason);
    const canCreate = Boolean(state.phone?.e164);
    if (sameKind && previous?.phone?.e164 === state.phone?.e164) return;
    const section = this.#replace("no_match");
    section.append(
      el(
        "h2",
        { class: "sp-message-title" },
        canCreate ? gettext("No Freshdesk contact has this number") : gettext("The caller's number is withheld"),
      ),
    );
    if (number) section.append(el("p", { class: "sp-number", id: "sp-number" }, number));
    if (!canCreate) {
      section.append(el("p", {}, gettext("There is no number to look up in Freshdesk.")));
      this.announce(gettext("The caller's number is withheld."));
      return;
    }
    const form = el("form", { class: "sp-create", id: "sp-create", novalidate: true });
    const input = el("input", {
      id: "sp-subject",
      name: "subject",
      type: "text",
      slot: "input",
      maxlength: "255",
      required: true,
      autocomplete: "off",
    });
    input.value = format(gettext("Call from %(number)s"), { number });
    const field = el("gux-form-field-text-like", { class: "sp-field" });
    field.append(el("label", { slot: "label", for: "sp-subject" }, gettext("Subject")), input);
    const error = el("p", { class: "sp-form-error", id: "sp-create-error", role: "alert" });
    const button = this.#button("sp-create-button", gettext("Create ticket"), "primary", () => form.requestSubmit());
    form.append(
      el("p", { class: "sp-hint" }, gettext("Create a phone ticket in Freshdesk for this caller.")),
      field,
      button,
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.hasAttribute("disabled")) return;
      const subject = input.value.trim();
      if (!subject) {
        setText(error, gettext("Enter a subject."));
        input.focus();
        return;
      }
      button.setAttribute("disabled", "");
      setText(button, gettext("Creating…"));
      setText(error, "");
      try {
        await this.actions.create(subject);
      } catch (failure) {
        setText(error, errorWords(failure?.code, gettext("The ticket could not be created. Try again.")));
        button.removeAttribute("disabled");
        setText(button, gettext("Create ticket"));
      }
    });
    section.append(form);
    this.announce(format(gettext("No Freshdesk contact has the number %(number)s."), { number }));
  }

  #showMatched(state, sameKind) {
    let contacts = Array.isArray(state.contacts) && state.contacts.length ? state.contacts : [];
    if (!contacts.length && state.contact) contacts = [{ ...state.contact, tickets: state.tickets || [] }];
    const selected = contacts.find((contact) => contact.id === this.selectedContactId) || contacts[0] || null;
    this.selectedContactId = selected?.id ?? null;
    let section = this.body;
    if (!sameKind) {
      section = this.#replace("matched");
      section.append(
        el("div", { class: "sp-picker", id: "sp-picker", hidden: true }),
        el("div", { class: "sp-contact", id: "sp-contact" }),
        el("h3", { class: "sp-tickets-title", id: "sp-tickets-title" }),
        el("ul", { class: "sp-tickets", id: "sp-tickets", "aria-labelledby": "sp-tickets-title" }),
        el("p", { class: "sp-empty", id: "sp-empty", hidden: true }, gettext("No tickets for this contact yet.")),
        el("div", { class: "sp-more", id: "sp-more" }),
        el("p", { class: "sp-as-of", hidden: true }, el("time", { class: "sp-as-of-time", id: "sp-as-of" })),
      );
    }
    // Shown from the tenant's local copy of Freshdesk: say how fresh it is (its refresh then updates in place).
    const asOf = section.querySelector("#sp-as-of");
    setAttr(asOf, "datetime", state.as_of || "");
    asOf.parentElement.hidden = !state.as_of;
    this.#fillAsOf(asOf);
    this.#renderPicker(section.querySelector("#sp-picker"), contacts, selected);
    this.#renderContact(section.querySelector("#sp-contact"), selected);
    const changed = this.#renderTickets(section, selected);
    this.#renderMore(section.querySelector("#sp-more"), selected);
    if (!sameKind) {
      const count = selected?.ticket_count ?? selected?.tickets?.length ?? 0;
      this.announce(
        format(ngettext("%(name)s: %(count)s ticket.", "%(name)s: %(count)s tickets.", count), {
          name: selected?.name || gettext("Freshdesk contact"),
          count,
        }),
      );
    } else if (changed.length) {
      this.announce(
        changed
          .map((ticket) => format(gettext("Ticket #%(id)s updated: %(status)s."), { id: ticket.id, status: statusLabel(ticket) }))
          .join(" "),
      );
    }
  }

  #renderPicker(picker, contacts, selected) {
    picker.hidden = contacts.length < 2;
    if (contacts.length < 2) {
      picker.replaceChildren();
      return;
    }
    let select = picker.querySelector("select");
    if (!select) {
      select = el("select", { id: "sp-contact-select", class: "sp-select" });
      picker.append(el("label", { for: "sp-contact-select", class: "sp-picker-label", id: "sp-picker-label" }), select);
      select.addEventListener("change", () => {
        this.selectedContactId = Number(select.value);
        this.#showMatched(this.state, true);
      });
    }
    setText(
      picker.querySelector("#sp-picker-label"),
      format(ngettext("%(count)s contact shares this number", "%(count)s contacts share this number", contacts.length), {
        count: contacts.length,
      }),
    );
    const options = contacts.map((contact) => {
      let option = select.querySelector(`option[value="${CSS.escape(String(contact.id))}"]`);
      if (!option) option = el("option", { value: String(contact.id) });
      const tickets = contact.ticket_count ?? contact.tickets?.length ?? 0;
      setText(
        option,
        format(ngettext("%(name)s (%(count)s ticket)", "%(name)s (%(count)s tickets)", tickets), {
          name: contact.name || contact.email || `#${contact.id}`,
          count: tickets,
        }),
      );
      option.selected = contact === selected;
      return option;
    });
    options.forEach((option, index) => {
      if (select.children[index] !== option) select.insertBefore(option, select.children[index] || null);
    });
    while (select.children.length > options.length) select.lastElementChild.remove();
  }

  #renderContact(container, contact) {
    if (!contact) {
      container.replaceChildren();
      return;
    }
    let name = container.querySelector(".sp-contact-name");
    if (!name) {
      name = el("h2", { class: "sp-contact-name", id: "sp-contact-name" });
      container.append(name, el("p", { class: "sp-contact-meta", id: "sp-contact-meta" }));
    }
    const label = contact.name || contact.email || gettext("Unnamed contact");
    const href = safeLink(contact.url, this.freshdeskOrigin);
    const current = name.firstElementChild;
    if (href) {
      const link = current?.tagName === "A" ? current : el("a", { target: "_blank", rel: "noopener noreferrer" });
      setAttr(link, "href", href);
      setText(link, label);
      if (link !== current) name.replaceChildren(link);
    } else {
      setText(name, label);
    }
    const meta = [contact.email, contact.phone, contact.mobile].filter(Boolean).join(" · ");
    setText(container.querySelector(".sp-contact-meta"), meta);
  }

  // Returns the tickets whose content changed in place (for the announcement).
  #renderTickets(section, contact) {
    const list = section.querySelector("#sp-tickets");
    const tickets = this.#ticketsShown(contact);
    const switched = this.shownContactId !== (contact?.id ?? null);
    if (switched) {
      this.tickets.clear();
      list.replaceChildren();
    }
    const firstRender = switched;
    this.shownContactId = contact?.id ?? null;
    const total = contact?.ticket_count ?? tickets.length;
    setText(
      section.querySelector("#sp-tickets-title"),
      total > tickets.length || contact?.tickets_beyond
        ? format(
            ngettext("%(shown)s of %(count)s ticket, unresolved first", "%(shown)s of %(count)s tickets, unresolved first", total),
            { shown: tickets.length, count: contact?.tickets_beyond ? `${total}+` : total },
          )
        : format(ngettext("%(count)s ticket, unresolved first", "%(count)s tickets, unresolved first", tickets.length), {
            count: tickets.length,
          }),
    );
    section.querySelector("#sp-empty").hidden = tickets.length > 0;
    const changed = [];
    const keep = new Set();
    const items = tickets.map((ticket) => {
      keep.add(ticket.id);
      let entry = this.tickets.get(ticket.id);
      const fingerprint = ticketFingerprint(ticket);
      if (!entry) {
        entry = this.#ticketEntry(ticket);
        this.tickets.set(ticket.id, entry);
        if (!firstRender && !this.loadingMore) this.#highlight(entry.item);
      } else if (entry.fingerprint !== fingerprint) {
        this.#fillTicket(entry, ticket);
        this.#highlight(entry.item);
        changed.push(ticket);
      }
      entry.fingerprint = fingerprint;
      return entry.item;
    });
    for (const [id, entry] of this.tickets) {
      if (!keep.has(id)) {
        entry.item.remove();
        this.tickets.delete(id);
      }
    }
    // Move only what is out of place: a moved node loses focus.
    items.forEach((item, index) => {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    return changed;
  }

  // The pop's tickets of `contact`, then those "load more" brought that it does not hold.
  #ticketsShown(contact) {
    const tickets = Array.isArray(contact?.tickets) ? contact.tickets : [];
    const held = new Set(tickets.map((ticket) => ticket.id));
    return tickets.concat((this.more.get(contact?.id) || []).filter((ticket) => !held.has(ticket.id)));
  }

  // "More in Freshdesk" (the contact's page lists every ticket) and "Load more" (the rest of the lookup's page).
  #renderMore(container, contact) {
    const shown = this.#ticketsShown(contact).length;
    const total = contact?.ticket_count ?? shown;
    const href = safeLink(contact?.url, this.freshdeskOrigin);
    const wanted = Boolean(contact) && (total > shown || contact.tickets_beyond);
    container.hidden = !wanted;
    if (!wanted) {
      container.replaceChildren();
      return;
    }
    if (!container.querySelector("#sp-more-error")) {
      const button = this.#button("sp-load-more", gettext("Load more"), "secondary", () => this.#loadMore(button));
      container.replaceChildren(button, el("p", { class: "sp-form-error", id: "sp-more-error", role: "alert" }));
    }
    const button = container.querySelector("#sp-load-more");
    button.hidden = shown >= total;
    let link = container.querySelector("#sp-more-link");
    if (href && !link) {
      link = el("a", { id: "sp-more-link", class: "sp-more-link", target: "_blank", rel: "noopener noreferrer" });
      link.append(gettext("More in Freshdesk"), el("span", { class: "sr-only" }, ` ${gettext("(opens Freshdesk in a new tab)")}`));
      container.prepend(link);
    }
    if (link) {
      if (href) setAttr(link, "href", href);
      link.hidden = !href;
    }
  }

  async #loadMore(button) {
    const contact = this.#selectedContact();
    if (!contact || button.hasAttribute("disabled")) return;
    const error = this.body.querySelector("#sp-more-error");
    button.setAttribute("disabled", "");
    setText(error, "");
    try {
      const page = await this.actions.loadMore(contact.id, this.#ticketsShown(contact).length);
      const before = this.#ticketsShown(contact).length;
      this.more.set(contact.id, [...(this.more.get(contact.id) || []), ...(page.tickets || [])]);
      this.loadingMore = true;
      try {
        this.#showMatched(this.state, true);
      } finally {
        this.loadingMore = false;
      }
      const added = this.#ticketsShown(this.#selectedContact()).length - before;
      this.announce(format(ngettext("%(count)s more ticket shown.", "%(count)s more tickets shown.", added), { count: added }));
    } catch (failure) {
      setText(error, errorWords(failure?.code, gettext("More tickets could not be loaded. Try again.")));
    } finally {
      button.removeAttribute("disabled");
    }
  }

  #selectedContact() {
    const contacts = Array.isArray(this.state?.contacts) ? this.state.contacts : [];
    return contacts.find((contact) => contact.id === this.selectedContactId) || contacts[0] || null;
  }

  #ticketEntry(ticket) {
    const item = el("li", { class: "sp-ticket", "data-ticket-id": String(ticket.id) });
    const entry = {
      item,
      link: null,
      subject: el("span", { class: "sp-ticket-subject" }),
      number: el("span", { class: "sp-ticket-id" }),
      badge: el("gux-badge", { class: "sp-ticket-status" }),
      priority: el("span", { class: "sp-ticket-priority" }),
      time: el("time", { class: "sp-ticket-updated" }),
      newTab: el("span", { class: "sr-only" }, gettext("(opens Freshdesk in a new tab)")),
    };
    this.#fillTicket(entry, ticket);
    return entry;
  }

  #fillTicket(entry, ticket) {
    const href = safeLink(ticket.url, this.freshdeskOrigin);
    const wantsLink = Boolean(href);
    if (!entry.link || (entry.link.tagName === "A") !== wantsLink) {
      entry.link = wantsLink
        ? el("a", { class: "sp-ticket-link", target: "_blank", rel: "noopener noreferrer" })
        : el("div", { class: "sp-ticket-link sp-ticket-link--plain" });
      entry.link.append(
        entry.subject,
        el("span", { class: "sp-ticket-meta" }, entry.number, entry.badge, entry.priority, entry.time),
      );
      if (wantsLink) entry.link.append(entry.newTab);
      entry.item.replaceChildren(entry.link);
    }
    if (wantsLink) setAttr(entry.link, "href", href);
    setText(entry.subject, ticket.subject || gettext("(no subject)"));
    setText(entry.number, `#${ticket.id}`);
    setAttr(entry.badge, "accent", STATUS_ACCENTS[ticket.status] || "warning");
    setText(entry.badge, statusLabel(ticket));
    setAttr(entry.priority, "data-priority", ticket.priority ?? "");
    setText(entry.priority, priorityLabel(ticket));
    entry.priority.hidden = !priorityLabel(ticket);
    setAttr(entry.time, "datetime", ticket.updated_at || "");
    setAttr(entry.time, "title", absoluteTime(ticket.updated_at, this.language));
    this.#fillTime(entry.time);
    entry.item.dataset.status = String(ticket.status ?? "");
  }

  #fillTime(time) {
    const when = relativeTime(time.getAttribute("datetime"), this.language);
    setText(time, when ? format(gettext("updated %(when)s"), { when }) : "");
  }

  #fillAsOf(time) {
    const when = relativeTime(time.getAttribute("datetime"), this.language);
    setText(time, when ? format(gettext("Freshdesk as of %(when)s"), { when }) : "");
  }

  #tickClock() {
    for (const time of this.body.querySelectorAll("time.sp-ticket-updated")) this.#fillTime(time);
    for (const time of this.body.querySelectorAll("time.sp-as-of-time")) this.#fillAsOf(time);
  }

  #highlight(item) {
    item.classList.remove("sp-ticket--updated");
    // Restart the animation when the same ticket changes twice in a row.
    void item.offsetWidth;
    item.classList.add("sp-ticket--updated");
    window.clearTimeout(item.highlightTimer);
    item.highlightTimer = window.setTimeout(() => item.classList.remove("sp-ticket--updated"), HIGHLIGHT_MS);
  }

  #button(id, label, accent, onClick) {
    const button = el("gux-button", { id, accent, type: "button", class: "sp-button" }, label);
    button.addEventListener("click", (event) => {
      if (button.hasAttribute("disabled")) return;
      event.preventDefault();
      onClick();
    });
    return button;
  }
}
