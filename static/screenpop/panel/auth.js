// The agent's login, inside the iframe and without cookies.
//
// 1. A Genesys token comes from the login redirect (the fragment /widget/auth/ hands back), or from sessionStorage
//    (shared by the up to ten panels of one tab), or the page goes to login.<env>/oauth/authorize: implicit grant
//    (`response_type=token`), or PKCE (`grant=pkce` in the widget URL; the server exchanges the code).
// 2. POST /api/v1/panel/session turns it into a panel token, after the server checked the agent with Genesys.
// 3. The panel token is renewed before it expires, from the kept Genesys token: the agent sees nothing. Only when
//    Genesys refuses that token too does the page go through the login redirect again.

const RENEW_AT = 0.8; // of the panel token's lifetime
const TOKEN_MARGIN_MS = 60_000;
const MAX_AUTOMATIC_LOGINS = 2; // per conversation and minute: then the agent clicks "Sign in"

export class PanelError extends Error {
  constructor(code, detail, status = 0) {
    super(detail || code);
    this.code = code;
    this.detail = detail || "";
    this.status = status;
  }
}

function storage() {
  try {
    const probe = "screenpop.probe";
    window.sessionStorage.setItem(probe, "1");
    window.sessionStorage.removeItem(probe);
    return window.sessionStorage;
  } catch {
    return null; // storage blocked in this frame: the token lives in memory only
  }
}

function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PKCE_ALPHABET = `${ALPHANUMERIC}-._~`;

// Uniform over the alphabet: bytes past the largest multiple of its length are drawn again.
function randomString(length, alphabet = ALPHANUMERIC) {
  const limit = 256 - (256 % alphabet.length);
  let result = "";
  while (result.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < limit && result.length < length) result += alphabet[byte % alphabet.length];
    }
  }
  return result;
}

async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export class PanelAuth {
  constructor(config) {
    this.config = config;
    this.store = storage();
    this.prefix = config.storagePrefix;
    this.tokenKey = `${this.prefix}genesys.${config.environment}.${config.clientId}`;
    this.genesys = null; // {token, expiresAt}
    this.login = null; // {code, verifier} after a PKCE redirect
    this.session = null;
    this.renewTimer = null;
    this.onRenewFailed = () => {};
  }

  // Reads what the login redirect handed back in the fragment, then removes it from the address.
  readLoginResult() {
    const hash = window.location.hash.slice(1);
    if (!hash) return null;
    const params = new URLSearchParams(hash);
    if (!params.has("state")) return null;
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    const [nonce] = (params.get("state") || "").split(".");
    const pending = this.#take(`login.${nonce}`);
    if (this.store && !pending) return { error: "state_mismatch" };
    if (params.get("error")) return { error: params.get("error") };
    if (params.get("access_token")) {
      const lifetime = Number(params.get("expires_in") || 0) * 1000;
      return { token: params.get("access_token"), expiresAt: Date.now() + (lifetime || 3600_000) };
    }
    if (params.get("code") && pending?.verifier) return { code: params.get("code"), verifier: pending.verifier };
    return { error: "no_token" };
  }

  // The panel session, or a PanelError; may navigate away to log in (the promise then never settles).
  async start() {
    const result = this.readLoginResult();
    if (result?.error) {
      throw new PanelError("login_required", `Genesys Cloud sign-in did not complete (${result.error}).`);
    }
    if (result?.token) this.#keepGenesysToken(result.token, result.expiresAt);
    if (result?.code) this.login = result;
    if (!this.genesys && !this.login) this.genesys = this.#storedGenesysToken();
    if (!this.genesys && !this.login) return this.redirectToLogin({ interactive: false });
    try {
      return await this.#openSession();
    } catch (error) {
      if (error.code === "login_required" && !result) {
        // The kept token was refused (expired, revoked): a fresh login, once, is what the agent would do anyway.
        this.#forgetGenesysToken();
        return this.redirectToLogin({ interactive: false });
      }
      throw error;
    }
  }

  async redirectToLogin({ interactive }) {
    const attemptsKey = `login-attempts.${this.config.conversationId}`;
    const recent = (this.#read(attemptsKey) || []).filter((at) => Date.now() - at < 60_000);
    if (!interactive && recent.length >= MAX_AUTOMATIC_LOGINS) {
      throw new PanelError("login_required", "Sign in with Genesys Cloud to see the caller's tickets.");
    }
    this.#write(attemptsKey, [...recent, Date.now()]);
    const nonce = randomString(22);
    const query = window.location.search.replace(/^\?/, "");
    const state = `${nonce}.${base64url(new TextEncoder().encode(query))}`;
    const params = new URLSearchParams({
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUri,
      state,
    });
    const pending = { at: Date.now() };
    if (this.config.grant === "pkce") {
      pending.verifier = randomString(64, PKCE_ALPHABET);
      params.set("response_type", "code");
      params.set("code_challenge", await pkceChallenge(pending.verifier));
      params.set("code_challenge_method", "S256");
    } else {
      params.set("response_type", "token");
    }
    this.#write(`login.${nonce}`, pending);
    window.location.assign(`${this.config.authorizeUrl}?${params}`);
    return new Promise(() => {});
  }

  // A fresh panel token from the kept Genesys token, without the agent noticing; null when Genesys refused it.
  async renew() {
    if (!this.genesys) return null;
    try {
      return await this.#openSession();
    } catch (error) {
      if (error.code === "login_required") this.#forgetGenesysToken();
      return null;
    }
  }

  get panelToken() {
    return this.session?.panel_token || null;
  }

  // The agent's own Genesys access token (the panel's login), for the calls the agent places from the panel.
  get genesysToken() {
    return this.genesys?.token || null;
  }

  // fetch() against the panel API with the panel token; one renewal and retry on 401.
  async fetch(url, options = {}) {
    const send = () =>
      window.fetch(url, {
        ...options,
        credentials: "omit",
        headers: { ...(options.headers || {}), Authorization: `Bearer ${this.panelToken}` },
      });
    let response = await send();
    if (response.status === 401 && (await this.renew())) response = await send();
    return response;
  }

  async #openSession() {
    const body = { conversation_id: this.config.conversationId, environment: this.config.environment };
    if (this.login) {
      Object.assign(body, { code: this.login.code, code_verifier: this.login.verifier, client_id: this.config.clientId });
    } else {
      body.genesys_token = this.genesys.token;
    }
    let response;
    try {
      response = await window.fetch(this.config.urls.session, {
        method: "POST",
        credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      throw new PanelError("network", "The panel could not reach its server.");
    }
    const answer = await response.json().catch(() => ({}));
    this.login = null; // a code works once
    if (!response.ok) throw new PanelError(answer.error || "failure", answer.detail, response.status);
    if (answer.genesys_token) {
      this.#keepGenesysToken(answer.genesys_token, Date.now() + (answer.genesys_expires_in || 3600) * 1000);
    }
    this.session = answer;
    this.#scheduleRenewal(answer.expires_in);
    this.#write(`login-attempts.${this.config.conversationId}`, []);
    return answer;
  }

  #scheduleRenewal(expiresIn) {
    window.clearTimeout(this.renewTimer);
    const delay = Math.max(5, Number(expiresIn || 0) * RENEW_AT) * 1000;
    this.renewTimer = window.setTimeout(async () => {
      if (!(await this.renew())) this.onRenewFailed();
    }, delay);
  }

  #keepGenesysToken(token, expiresAt) {
    this.genesys = { token, expiresAt };
    if (this.store) this.store.setItem(this.tokenKey, JSON.stringify(this.genesys));
  }

  #storedGenesysToken() {
    const kept = this.#read(this.tokenKey, true);
    if (kept?.token && kept.expiresAt - Date.now() > TOKEN_MARGIN_MS) return kept;
    return null;
  }

  #forgetGenesysToken() {
    this.genesys = null;
    if (this.store) this.store.removeItem(this.tokenKey);
  }

  #read(key, absolute = false) {
    if (!this.store) return null;
    try {
      return JSON.parse(this.store.getItem(absolute ? key : this.prefix + key) || "null");
    } catch {
      return null;
    }
  }

  #write(key, value) {
    if (this.store) this.store.setItem(this.prefix + key, JSON.stringify(value));
  }

  #take(key) {
    const value = this.#read(key);
    if (this.store) this.store.removeItem(this.prefix + key);
    return value;
  }
}
