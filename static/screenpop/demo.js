// The demo desktop: plays the Genesys agent desktop around the real panel (development only). It places calls
// through the server (which drives the Genesys simulator), frames /widget/ with the URL Genesys would interpolate,
// and shows the toasts the panel sends through the Client App SDK (postMessage, protocol purecloud-client-apps).

const config = JSON.parse(document.getElementById("dm-config").textContent);
const params = new URLSearchParams(window.location.search);
const frame = document.getElementById("dm-widget");
const agentSelect = document.getElementById("dm-agent");
const languageSelect = document.getElementById("dm-language");
const themeSelect = document.getElementById("dm-theme");
const transferButton = document.getElementById("dm-transfer");
const outage = document.getElementById("dm-outage");
const endButton = document.getElementById("dm-end");
const wrapupSelect = document.getElementById("dm-wrapup");
let conversation = null;
let notesTimer = null;
// After "End call", the write-back writes the call's note within seconds: look this long before giving up.
const NOTES_POLL_MS = 1500;
const NOTES_POLLS = 40;

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function log(text) {
  const time = new Date().toLocaleTimeString();
  document.getElementById("dm-log").prepend(el("li", {}, el("time", {}, time), " ", text));
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail || `${response.status}`);
  return answer;
}

function widgetUrl(conversationId) {
  const values = {
    gcConversationId: conversationId,
    gcHostOrigin: config.hostOrigin,
    gcTargetEnv: config.targetEnv,
    gcLangTag: languageSelect.value,
  };
  const url = config.widgetUrlTemplate.replace(/\{\{(\w+)\}\}/g, (match, name) =>
    name in values ? encodeURIComponent(values[name]) : match,
  );
  return `${url}&theme=${encodeURIComponent(themeSelect.value)}`;
}

// A new agent at the desk: the panel's kept Genesys login belongs to the previous one.
function forgetPanelLogins() {
  for (const key of Object.keys(window.sessionStorage)) {
    if (key.startsWith(config.storagePrefix)) window.sessionStorage.removeItem(key);
  }
}

function showWidget() {
  if (!conversation) return;
  const url = widgetUrl(conversation.id);
  document.getElementById("dm-url").textContent = url;
  frame.src = url;
}

function showInteraction(call) {
  const card = document.getElementById("dm-interaction");
  const lines = [el("p", { class: "dm-hint" }, "Conversation ", el("code", {}, call.conversation_id))];
  if (call.caller) {
    lines.unshift(
      el("p", { class: "dm-call-title" }, "Inbound call · ", el("strong", {}, call.caller.ani)),
      el("p", { class: "dm-hint", id: "dm-call-agent" }, `${call.caller.label} · queue Support · ${call.agent.name}`),
    );
  }
  card.replaceChildren(...lines);
}

async function ring(caller) {
  try {
    const call = await post(config.urls.calls, { caller, agent: agentSelect.value });
    conversation = { id: call.conversation_id };
    callStarted();
    showInteraction(call);
    log(`Genesys: inbound call from ${call.caller.ani} to ${call.agent.name} (conversation ${call.conversation_id}).`);
    log(`Webhook via ${call.webhook.via}: ${call.webhook.status} ${JSON.stringify(call.webhook.body || "")}`);
    if (call.caller.freshdesk && outage) {
      outage.checked = true;
      log(call.caller.freshdesk === "hang" ? "Freshdesk hangs (simulated)." : "Freshdesk is down (simulated outage).");
    }
    forgetPanelLogins();
    showWidget();
  } catch (error) {
    log(`Could not place the call: ${error.message}`);
  }
}

function callStarted() {
  transferButton.disabled = false;
  endButton.disabled = false;
  window.clearTimeout(notesTimer);
  document.getElementById("dm-ticket").hidden = true;
}

function callUrl(template) {
  return template.replace("CONVERSATION", encodeURIComponent(conversation.id));
}

// The linked ticket's conversations, as the Freshdesk simulator lists them; text only (notes are untrusted).
async function showTicketNotes(polls) {
  const response = await fetch(callUrl(config.urls.ticket), { headers: { Accept: "application/json" } });
  const answer = await response.json().catch(() => ({}));
  const section = document.getElementById("dm-ticket");
  if (response.ok && answer.ticket) {
    section.hidden = false;
    document.getElementById("dm-ticket-title").textContent = `#${answer.ticket.id} ${answer.ticket.subject}`;
    const notes = answer.notes.map((note) =>
      el("li", { class: note.private ? "dm-note dm-note--private" : "dm-note" }, note.text),
    );
    if (!notes.length) notes.push(el("li", { class: "dm-hint" }, "No note on the ticket yet…"));
    document.getElementById("dm-ticket-notes").replaceChildren(...notes);
    if (answer.notes.some((note) => note.private)) return;
  } else if (response.ok) {
    log("No ticket was linked to the call: the wrap-up writes the note where the tenant's setting says.");
    return;
  }
  if (polls > 1) notesTimer = window.setTimeout(() => showTicketNotes(polls - 1), NOTES_POLL_MS);
}

endButton?.addEventListener("click", async () => {
  if (!conversation) return;
  try {
    const result = await post(callUrl(config.urls.end), { code: wrapupSelect.value });
    endButton.disabled = true;
    transferButton.disabled = true;
    log(`Genesys: call ended, wrap-up "${result.wrapup.code}" (customer.end, user.end, acw).`);
    showTicketNotes(NOTES_POLLS);
  } catch (error) {
    log(`Could not end the call: ${error.message}`);
  }
});

for (const button of document.querySelectorAll(".dm-ring")) {
  button.addEventListener("click", () => ring(button.dataset.caller));
}

agentSelect?.addEventListener("change", async () => {
  try {
    const agent = await post(config.urls.agent, { agent: agentSelect.value });
    log(`${agent.name} is at the desk now.`);
    forgetPanelLogins();
    showWidget();
  } catch (error) {
    log(`Could not switch agents: ${error.message}`);
  }
});

transferButton?.addEventListener("click", async () => {
  const other = [...agentSelect.options].find((option) => option.value !== agentSelect.value);
  if (!conversation || !other) return;
  try {
    const url = callUrl(config.urls.transfer);
    const result = await post(url, { agent: other.value });
    agentSelect.value = other.value;
    const agentLine = document.getElementById("dm-call-agent");
    if (agentLine) agentLine.textContent = agentLine.textContent.replace(/[^·]+$/, ` ${result.agent.name}`);
    log(`Genesys: conversation transferred to ${result.agent.name}, who opens the panel.`);
    forgetPanelLogins();
    showWidget();
  } catch (error) {
    log(`Could not transfer: ${error.message}`);
  }
});

outage?.addEventListener("change", async () => {
  try {
    const result = await post(config.urls.outage, { on: outage.checked });
    log(result.outage ? "Freshdesk is down (simulated outage)." : "Freshdesk is back.");
  } catch (error) {
    log(`Could not switch the outage: ${error.message}`);
  }
});

languageSelect?.addEventListener("change", showWidget);
themeSelect?.addEventListener("change", () => {
  document.documentElement.dataset.theme = themeSelect.value;
  showWidget();
});

// The Genesys side of the Client App SDK: toasts and lifecycle messages from the panel's frame.
window.addEventListener("message", (event) => {
  if (event.origin !== window.location.origin || event.source !== frame.contentWindow) return;
  const message = event.data;
  if (!message || message.protocol !== "purecloud-client-apps") return;
  if (message.action === "showToast") {
    const toast = el(
      "li",
      { class: `dm-toast dm-toast--${message.type || "info"}`, "data-toast-id": message.id || "" },
      el("strong", {}, message.title || ""),
      " ",
      message.message || "",
    );
    document.getElementById("dm-toasts").prepend(toast);
    log(`Panel toast (${message.type}): ${message.title}`);
  } else if (message.action === "showInteractionDetails" && message.conversationId) {
    // The panel placed an outbound call: the desktop shows it, and its panel.
    conversation = { id: message.conversationId };
    callStarted();
    showInteraction({ conversation_id: conversation.id });
    log(`Genesys: outbound call placed from the panel (conversation ${conversation.id}).`);
    showWidget();
  } else if (message.action === "bootstrapped") {
    log("Panel: bootstrapped (Client App SDK lifecycle).");
  }
});

if (config.problem === null && params.get("lang")) languageSelect.value = params.get("lang");
if (config.problem === null && params.get("theme")) themeSelect.value = params.get("theme");
if (themeSelect) document.documentElement.dataset.theme = themeSelect.value;
if (config.problem === null && params.get("agent") && agentSelect) agentSelect.value = params.get("agent");
if (config.problem === null && params.get("conversation")) {
  conversation = { id: params.get("conversation") };
  callStarted();
  showInteraction({ conversation_id: conversation.id });
  showWidget();
}
