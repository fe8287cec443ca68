// The OAuth redirect URI's page (/widget/ without the widget's query). Genesys sends the token in the fragment
// (implicit grant) or a code in the query (PKCE), with the `state` the widget made: "<nonce>.<base64url of the
// widget's query>". This page goes back to /widget/ with that query, carrying what Genesys sent in the fragment
// (which no server sees; the widget strips it at once). The query is only ever data on this origin's /widget/: no
// open redirect. Without a usable state (the page opened by hand) it stays put, rather than loop.

function decodeQuery(encoded) {
  try {
    const binary = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder().decode(Uint8Array.from(binary, (character) => character.charCodeAt(0)));
  } catch {
    return "";
  }
}

const received = new URLSearchParams(window.location.hash.slice(1) || window.location.search.slice(1));
const [, encoded = ""] = (received.get("state") || "").split(".");
const query = new URLSearchParams(decodeQuery(encoded).replace(/^\?/, "").replace(/#.*$/, ""));
const widgetPath = JSON.parse(document.getElementById("sp-widget-path").textContent);

if (query.has("gcConversationId") || query.has("conversationId") || query.has("pcConversationId")) {
  const widget = new URL(widgetPath, window.location.href);
  widget.search = query.toString();
  widget.hash = received.toString();
  window.location.replace(widget.href);
} else {
  document.getElementById("sp-auth").hidden = true;
  document.getElementById("sp-auth-lost").hidden = false;
  document.getElementById("sp-panel").setAttribute("aria-live", "polite");
}
