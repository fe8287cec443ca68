// The agent's words for what the server says in codes: why a pop is in its state (`reason`, screenpop/pops/reasons.py),
// the standard Freshdesk statuses and priorities, the hidden caller numbers, and the API's error codes. The server's
// English `detail` is for the admin and is never shown: it may name a URL, a status code or an exception.

import { gettext } from "./i18n.js";

// reason -> [title, text]; the kind of state each one explains is in the comment.
const REASONS = {
  // pending or unavailable, while the lookup is tried again by itself
  freshdesk_not_answering: [
    () => gettext("Freshdesk is not answering, retrying"),
    () => gettext("The caller's tickets will show here as soon as Freshdesk answers."),
  ],
  freshdesk_rate_limited: [
    () => gettext("Freshdesk's request limit is reached, retrying"),
    () => gettext("Your Freshdesk plan allows a number of requests a minute; the caller's tickets will show here when the next minute begins."),
  ],
  freshdesk_paused: [
    () => gettext("Freshdesk is not answering, retrying"),
    () => gettext("Freshdesk failed several times in a row, so screenpop pauses for a few seconds before it asks again."),
  ],
  // error: an admin must act
  freshdesk_not_connected: [
    () => gettext("Freshdesk is not connected"),
    () => gettext("Your organisation has not connected a Freshdesk account yet. Ask your admin to add the Freshdesk domain and API key."),
  ],
  freshdesk_key_refused: [
    () => gettext("Freshdesk refused the connection"),
    () => gettext("Freshdesk did not accept screenpop's API key. Ask your admin to check the Freshdesk connection."),
  ],
  freshdesk_not_found: [
    () => gettext("Freshdesk account not found"),
    () => gettext("The Freshdesk domain set for your organisation has no helpdesk. Ask your admin to check it."),
  ],
  freshdesk_refused: [
    () => gettext("Freshdesk refused the lookup"),
    () => gettext("Freshdesk did not accept screenpop's request. Ask your admin to look at the event log."),
  ],
  // pending without a pop
  call_queue_not_watched: [
    () => gettext("No tickets for this call"),
    () => gettext("This call came through a queue that screenpop is not set up to watch, so its caller is not looked up. Your admin chooses the queues."),
  ],
  call_not_inbound_voice: [
    () => gettext("No tickets for this call"),
    () => gettext("Only inbound voice calls are looked up in Freshdesk; this interaction is not one."),
  ],
  call_refused: [
    () => gettext("No tickets for this call"),
    () => gettext("screenpop turned this call's event from Genesys Cloud away: the app is uninstalled or switched off for your organisation. Ask your admin."),
  ],
  waiting_for_call_event: [
    () => gettext("Genesys Cloud has not announced this call"),
    () => gettext("screenpop has not received this call's event from Genesys Cloud. If the call did not come through a queue, no tickets will show; if it did, they will appear here when the event arrives."),
  ],
};

export function reasonWords(reason) {
  const words = REASONS[reason];
  return words ? [words[0](), words[1]()] : null;
}

// Freshdesk's own labels for its standard statuses and priorities are English whatever the agent's language; an
// account's custom labels (and custom statuses, 6 and up) are its admin's words and are shown as they are.
const STATUSES = {
  2: ["Open", () => gettext("Open")],
  3: ["Pending", () => gettext("Pending")],
  4: ["Resolved", () => gettext("Resolved")],
  5: ["Closed", () => gettext("Closed")],
};
const PRIORITIES = {
  1: ["Low", () => gettext("Low")],
  2: ["Medium", () => gettext("Medium")],
  3: ["High", () => gettext("High")],
  4: ["Urgent", () => gettext("Urgent")],
};

function labelOf(table, code, label) {
  const standard = table[code];
  if (standard && (!label || label === standard[0])) return standard[1]();
  return label || "";
}

export function statusLabel(ticket) {
  return labelOf(STATUSES, ticket.status, ticket.status_label);
}

export function priorityLabel(ticket) {
  return labelOf(PRIORITIES, ticket.priority, ticket.priority_label);
}

// The caller's number as shown: the words the server uses for a hidden number, in the agent's language.
export function numberLabel(display, reason) {
  if (reason === "number_anonymous") return gettext("Anonymous");
  if (reason === "number_withheld") return gettext("Withheld");
  return String(display || "").replace(/^(tel|sips?):/i, "");
}

// error code of the panel API -> the agent's words
const ERRORS = {
  freshdesk_unavailable: () => gettext("Freshdesk is not answering. Try again in a moment."),
  freshdesk_timeout: () => gettext("Freshdesk is not answering. Try again in a moment."),
  freshdesk_rate_limited: () => gettext("Freshdesk's request limit is reached. Try again in a minute."),
  freshdesk_auth: () => gettext("Freshdesk did not accept screenpop's API key. Ask your admin to check the Freshdesk connection."),
  freshdesk_not_found: () => gettext("Freshdesk could not find what was asked for."),
  freshdesk_invalid_request: () => gettext("Freshdesk refused the request."),
  freshdesk_not_connected: () => gettext("Freshdesk is not connected"),
  contact_not_shown: () => gettext("These tickets are not this caller's."),
  pop_not_found: () => gettext("screenpop has not received this call from Genesys Cloud yet."),
  not_creatable: () => gettext("A ticket cannot be created for this call."),
  not_retryable: () => gettext("There is nothing to try again."),
  validation_failed: () => gettext("The request was not valid."),
  login_required: () => gettext("Your Genesys Cloud sign-in has expired. Sign in again."),
};

export function errorWords(code, fallback) {
  return ERRORS[code]?.() || fallback;
}
