// The Settings page: sign in with an API token, then verify, save, disable and remove providers
// through the gateway's /api. Everything shown comes from GET /api/providers (never a secret) and
// is written with textContent, never as HTML. The token lives in sessionStorage: this tab only.

const TOKEN_KEY = "ideaforge.apiToken";
const NAMES = { ai_gateway: "AI Gateway", openai: "OpenAI", anthropic: "Anthropic", gemini: "Gemini" };
const CONFIGURE_KEYS = { openai: "openaiApiKey", anthropic: "anthropicApiKey", gemini: "geminiApiKey" };
const SOURCES = {
  user: "user (your credentials)",
  environment: "environment (the server's)",
};
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

class ApiError extends Error {
  constructor(status, message, kind) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

const $ = (selector, root = document) => root.querySelector(selector);
const cards = () => [...document.querySelectorAll("[data-provider]")];
const cardFor = (provider) => $(`[data-provider="${provider}"]`);

// HTTP.

async function api(method, path, body, token = sessionStorage.getItem(TOKEN_KEY)) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token ?? ""}` };
  const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "Could not reach the gateway: check that it is running and try again.", "network");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = typeof data?.error === "string" ? data.error : `the request failed (HTTP ${response.status})`;
    throw new ApiError(response.status, message, typeof data?.kind === "string" ? data.kind : "http_error");
  }
  return data;
}

// Messages.

// The server's messages are written for operators too and may name its environment variables
// (AI_GATEWAY_CLIENT_ID, OPENAI_API_KEY...). People on this page cannot set those: a clause that
// names one becomes a pointer to what they can do.
const SERVER_SETTING = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/;
const OPERATOR_HINT = "enter your own credentials here, or ask the gateway's administrator";

function forPeople(text) {
  if (!text || !SERVER_SETTING.test(text)) return text;
  const trimmed = text.replace(/\s*\([^()]*\)/g, (group) => (SERVER_SETTING.test(group) ? "" : group));
  if (!SERVER_SETTING.test(trimmed)) return trimmed;
  const kept = [];
  for (const clause of trimmed.split(/:\s+|;\s+/)) {
    if (SERVER_SETTING.test(clause)) break;
    kept.push(clause);
  }
  return `${kept.join(": ") || "This provider is not set up on the server"}: ${OPERATOR_HINT}.`;
}

function show(element, text, tone) {
  element.textContent = forPeople(text);
  element.dataset.tone = tone;
  element.hidden = !text;
}

function clearSuccesses() {
  // After a network error, an earlier "Saved." or "Valid" no longer says how things stand.
  for (const element of document.querySelectorAll('.message[data-tone="success"], .message[data-tone="info"]')) {
    show(element, "", "");
  }
}

function describe(error) {
  if (!(error instanceof ApiError)) return `Unexpected error: ${error.message}`;
  if (error.status === 0) return error.message;
  return `Error: ${error.message}`;
}

// Rendering.

function pillFor(status) {
  if (status.needs_reconfiguration) return ["attention", "Needs reconfiguration"];
  if (!status.configured) return ["off", "Not configured"];
  if (!status.enabled) return ["paused", "Disabled"];
  if (status.usable && status.last_verification_ok === false) return ["warning", "Usable · last check failed"];
  if (status.usable) return ["ok", "Usable"];
  return ["warning", "Not usable"];
}

function renderVerification(element, status) {
  // The outcome and when; a failure's reason below it, clamped to a few lines by the stylesheet.
  let summary = status.source === "user" ? "Never verified" : "—";
  let reason = "";
  if (status.last_verified_at) {
    const when = dateFormat.format(new Date(status.last_verified_at));
    summary = `${status.last_verification_ok ? "Passed" : "Failed"} · ${when}`;
    if (!status.last_verification_ok) reason = status.last_verification_error ?? "";
  }
  const detail = document.createElement("span");
  detail.className = "detail";
  detail.textContent = forPeople(reason);
  detail.hidden = !reason;
  element.replaceChildren(summary, detail);
  element.dataset.tone = status.last_verification_ok === false ? "error" : "";
}

function setField(card, field, text) {
  const element = $(`[data-field="${field}"]`, card);
  if (element) element.textContent = text;
}

function renderStatus(status, index) {
  const card = cardFor(status.provider);
  if (!card) return;
  const [state, label] = pillFor(status);
  const pill = $('[data-field="pill"]', card);
  pill.dataset.state = state;
  pill.textContent = label;
  setField(card, "priority", String(index + 1));
  setField(card, "source", status.source ? SOURCES[status.source] : "not configured");
  setField(card, "enabled", status.configured ? (status.enabled ? "Yes" : "No") : "—");
  setField(card, "base_url", status.base_url || (status.configured ? "default" : "—"));
  setField(card, "default_model", status.default_model || (status.configured ? "by tier" : "—"));
  setField(card, "instance", instanceText(status));
  renderVerification($('[data-field="last_verification"]', card), status);

  const problem = $('[data-field="problem"]', card);
  const reason = status.problem || status.last_verification_error || "enter the credentials again";
  show(problem, status.needs_reconfiguration ? `Needs reconfiguration: ${reason}` : "", "error");

  const mine = status.source === "user";
  const toggle = $('[data-action="toggle"]', card);
  toggle.hidden = !mine;
  toggle.textContent = status.enabled ? "Disable" : "Enable";
  toggle.dataset.enable = String(!status.enabled);
  $('[data-action="remove"]', card).hidden = !mine;
  card.dataset.source = status.source ?? "";

  card.dataset.storedBaseUrl = mine ? normalUrl(status.base_url ?? "") : "";
  card.dataset.storedDestination = mine ? destinationKey(storedDestination(status)) : "";
  card.dataset.keep = status.needs_reconfiguration ? "Unreadable: enter it again" : "Stored: leave empty to keep it";
  card.dataset.inherited =
    status.source === "environment" ? `Using the server's ${status.provider === "ai_gateway" ? "account" : "key"}` : "";
  secretHints(card);
}

function normalUrl(url) {
  return url.trim().replace(/\/+$/, "");
}

function instanceText(status) {
  if (status.source !== "user") return status.configured ? "the server's" : "—";
  if (!status.instance_id) return "none (the base URL)";
  const where = [status.env || "prod", status.region].filter(Boolean).join(", ");
  return `${status.instance_id} (${where})`;
}

// The fields that decide where a stored secret goes, as the form names them, and as a person
// reads them. An empty environment is "prod", as the server reads it.
const DESTINATION_FIELDS = {
  baseUrl: "base URL",
  instanceId: "instance ID",
  env: "environment",
  region: "region",
  routeTemplate: "address pattern",
  authMethod: "sign-in style",
};

function storedDestination(status) {
  return {
    baseUrl: status.base_url ?? "",
    instanceId: status.instance_id ?? "",
    env: status.env ?? "",
    region: status.region ?? "",
    routeTemplate: status.route_template ?? "",
    authMethod: status.auth_method ?? "",
  };
}

function normalDestination(fields) {
  const out = {};
  for (const name of Object.keys(DESTINATION_FIELDS)) {
    let text = normalUrl(fields[name] ?? "");
    if (name === "env" && !fields.instanceId?.trim()) text = ""; // meaningless without an instance
    if (name === "env" || name === "region") text = (text || (name === "env" ? "prod" : "")).toLowerCase();
    out[name] = text;
  }
  return out;
}

function destinationKey(fields) {
  return JSON.stringify(normalDestination(fields));
}

function changedDestination(card) {
  // A stored secret is only ever sent to the destination it was stored with (the server refuses
  // otherwise): a new base URL, instance, environment, region, pattern or style needs it again.
  // The words for what changed, or "" when nothing did.
  if (card.dataset.source !== "user" || !$('[name="baseUrl"]', card)) return "";
  const entered = {};
  for (const name of Object.keys(DESTINATION_FIELDS)) entered[name] = $(`[name="${name}"]`, card)?.value ?? "";
  const now = normalDestination(entered);
  const before = JSON.parse(card.dataset.storedDestination || "{}");
  const changed = Object.keys(DESTINATION_FIELDS).filter((name) => now[name] !== (before[name] ?? ""));
  return changed.map((name) => DESTINATION_FIELDS[name]).join(" and ");
}

function destinationChanged(card) {
  return changedDestination(card) !== "";
}

function newDestination(card) {
  return `Enter the client ID and client secret again: the ${changedDestination(card)} changed, and a stored secret is only sent where it was saved for.`;
}

function secretHints(card) {
  const mine = card.dataset.source === "user";
  const keep = destinationChanged(card) ? `Required: the ${changedDestination(card)} changed` : card.dataset.keep;
  $("[data-secret]", card).placeholder = mine ? keep : card.dataset.inherited;
  const clientId = $('[name="clientId"]', card);
  if (clientId) clientId.placeholder = mine ? keep : card.dataset.inherited;
  const hint = $('[data-field="secret-hint"]', card);
  if (hint) {
    show(
      hint,
      mine && destinationChanged(card)
        ? `The ${changedDestination(card)} changed: enter the client ID and secret again. A stored secret is only sent where it was saved for.`
        : "",
      "info",
    );
  }
}

function fillForm(status) {
  // Only what GET /api/providers answers: never a secret, so secret inputs always start empty.
  const card = cardFor(status.provider);
  if (!card) return;
  for (const input of card.querySelectorAll("input[type=text], input[type=password], input[type=url], select")) {
    input.value = "";
  }
  if (status.source === "user") {
    const stored = storedDestination(status);
    for (const name of Object.keys(DESTINATION_FIELDS)) {
      const input = $(`[name="${name}"]`, card);
      if (input) input.value = stored[name];
    }
    const model = $('[name="defaultModel"]', card);
    if (model) model.value = status.default_model ?? "";
  }
  secretHints(card);
}

function render(statuses, { refill = [] } = {}) {
  const grid = $("#provider-grid");
  let previous = null;
  statuses.forEach((status, index) => {
    const card = cardFor(status.provider);
    if (card) {
      // In priority order, moving a card only when it is out of place: a moved card's input
      // loses focus, and what someone was typing into it while a refresh landed would be lost.
      const expected = previous ? previous.nextElementSibling : grid.firstElementChild;
      if (card !== expected) grid.insertBefore(card, expected);
      previous = card;
    }
    renderStatus(status, index);
    if (refill === "all" || refill.includes(status.provider)) fillForm(status);
  });
}

// Session.

function signedIn(yes) {
  $("#sign-in").hidden = yes;
  $("#providers").hidden = !yes;
  $("#session").hidden = !yes;
}

function signOut(message = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const input of document.querySelectorAll("input:not([type=checkbox])")) input.value = "";
  for (const card of cards()) show($('[data-field="message"]', card), "", "");
  show($("#page-message"), "", "");
  signedIn(false);
  show($("#sign-in-message"), message, "error");
  $("#token").focus();
}

async function loadProviders() {
  const statuses = await api("GET", "/api/providers");
  render(statuses, { refill: "all" });
  return statuses;
}

async function signIn(event) {
  event.preventDefault();
  const input = $("#token");
  const token = input.value.trim();
  const message = $("#sign-in-message");
  if (!token) {
    show(message, "Enter your API token to sign in.", "error");
    return;
  }
  const button = $('button[type="submit"]', event.target);
  button.disabled = true;
  show(message, "Signing in…", "info");
  try {
    const statuses = await api("GET", "/api/providers", undefined, token);
    sessionStorage.setItem(TOKEN_KEY, token);
    input.value = "";
    show(message, "", "");
    render(statuses, { refill: "all" });
    signedIn(true);
    $("#providers-title").focus();
  } catch (error) {
    const text = error.status === 401 ? `Sign-in failed: ${error.message}.` : describe(error);
    show(message, text, "error");
  } finally {
    button.disabled = false;
  }
}

// Provider actions.

function values(card) {
  const read = (name) => $(`[name="${name}"]`, card)?.value.trim() ?? "";
  return {
    clientId: read("clientId"),
    secret: $("[data-secret]", card).value,
    baseUrl: read("baseUrl"),
    defaultModel: read("defaultModel"),
    instanceId: read("instanceId"),
    env: read("env"),
    region: read("region"),
    routeTemplate: read("routeTemplate"),
    authMethod: read("authMethod"),
    verifyFirst: $('[name="verifyFirst"]', card).checked,
  };
}

function verifyBody(provider, v) {
  const body = { provider };
  const entered = provider === "ai_gateway" ? v.clientId || v.secret : v.secret;
  if (!entered) return body; // the stored (or the environment's) credentials are verified
  body.api_key = provider === "ai_gateway" ? v.clientId : v.secret;
  if (provider === "ai_gateway") {
    body.client_secret = v.secret || null;
    if (v.baseUrl) body.base_url = v.baseUrl;
    if (v.authMethod) body.auth_method = v.authMethod;
    if (v.instanceId) body.instance_id = v.instanceId;
    if (v.instanceId && v.env) body.env = v.env;
    if (v.instanceId && v.region) body.region = v.region;
    if (v.instanceId && v.routeTemplate) body.route_template = v.routeTemplate;
  }
  return body;
}

function configureBody(provider, v) {
  const body = { verify: v.verifyFirst };
  if (provider === "ai_gateway") {
    if (destinationChanged(cardFor(provider)) && !(v.clientId && v.secret)) {
      return [null, newDestination(cardFor(provider))];
    }
    if (v.clientId) body.aiGatewayClientId = v.clientId;
    if (v.secret) body.aiGatewayClientSecret = v.secret;
    if (v.baseUrl) body.aiGatewayBaseUrl = v.baseUrl;
    if (v.defaultModel) body.aiGatewayDefaultModel = v.defaultModel;
    if (v.authMethod) body.aiGatewayAuthMethod = v.authMethod;
    if (v.instanceId) {
      body.aiGatewayInstanceId = v.instanceId;
      if (v.env) body.aiGatewayEnv = v.env;
      if (v.region) body.aiGatewayRegion = v.region;
      if (v.routeTemplate) body.aiGatewayRouteTemplate = v.routeTemplate;
    } else if (v.env || v.region || v.routeTemplate) {
      return [null, "Enter the instance ID too: the environment, region and address pattern belong to an instance."];
    }
    const stored = cardFor(provider).dataset.source === "user";
    if (!v.clientId && !stored) return [null, "Enter the client ID and client secret to save the AI Gateway."];
    return [body, null];
  }
  if (!v.secret) return [null, `Enter an API key to save ${NAMES[provider]}.`];
  body[CONFIGURE_KEYS[provider]] = v.secret;
  return [body, null];
}

function modelSummary(models) {
  const count = `${models.length} model${models.length === 1 ? "" : "s"} available`;
  if (!models.length) return `${count}.`;
  const more = models.length > 4 ? ` and ${models.length - 4} more` : "";
  return `${count}: ${models.slice(0, 4).join(", ")}${more}.`;
}

const actions = {
  async verify(provider, card, message) {
    const v = values(card);
    if (destinationChanged(card) && !(v.clientId && v.secret)) {
      // Verifying the saved credentials would ignore the new base URL: say what it needs instead.
      show(message, newDestination(card), "error");
      return;
    }
    const body = verifyBody(provider, v);
    const what = body.api_key === undefined ? "the saved credentials" : "the credentials entered";
    show(message, `Verifying ${what}…`, "info");
    const answer = await api("POST", "/api/providers/verify", body);
    if (answer.valid) {
      show(message, `Valid: ${NAMES[provider]} accepted ${what}. ${modelSummary(answer.models)}`, "success");
    } else {
      show(message, `Not valid: ${answer.error || "the provider refused the credentials"}`, "error");
    }
    if (body.api_key === undefined) render(await api("GET", "/api/providers"));
  },

  async save(provider, card, message) {
    const v = values(card);
    const [body, problem] = configureBody(provider, v);
    if (problem) {
      show(message, problem, "error");
      return;
    }
    show(message, v.verifyFirst ? "Verifying and saving…" : "Saving…", "info");
    const answer = await api("POST", "/api/providers/configure", body);
    render(answer.providers, { refill: answer.configured });
    const error = answer.errors?.[provider];
    if (error) {
      show(message, `Not saved: ${error}`, "error");
    } else if (answer.configured.includes(provider)) {
      show(message, v.verifyFirst ? "Saved. The credentials were verified first." : "Saved (not verified).", "success");
    }
  },

  async toggle(provider, card, message) {
    const enable = $('[data-action="toggle"]', card).dataset.enable === "true";
    show(message, enable ? "Enabling…" : "Disabling…", "info");
    await api("PATCH", `/api/providers/${provider}`, { enabled: enable });
    render(await api("GET", "/api/providers"));
    const text = enable
      ? `${NAMES[provider]} is enabled again.`
      : `${NAMES[provider]} is disabled: your credentials are kept, and requests skip it.`;
    show(message, text, "success");
  },

  async remove(provider, card, message) {
    const question = `Remove your ${NAMES[provider]} credentials? This cannot be undone.`;
    if (!window.confirm(question)) return;
    show(message, "Removing…", "info");
    await api("DELETE", `/api/providers/${provider}`);
    const statuses = await api("GET", "/api/providers");
    render(statuses, { refill: [provider] });
    const now = statuses.find((s) => s.provider === provider);
    const fallback = now?.source === "environment" ? "the server's environment applies now" : "it is not configured now";
    show(message, `Your ${NAMES[provider]} credentials were removed: ${fallback}.`, "success");
  },
};

async function run(card, action) {
  const provider = card.dataset.provider;
  const message = $('[data-field="message"]', card);
  const buttons = [...card.querySelectorAll("button")];
  card.setAttribute("aria-busy", "true");
  for (const button of buttons) button.disabled = true;
  try {
    await actions[action](provider, card, message);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Signed out: ${error.message}. Sign in again.`);
      return;
    }
    if (error instanceof ApiError && error.status === 0) clearSuccesses();
    show(message, describe(error), "error");
  } finally {
    for (const button of buttons) button.disabled = false;
    card.removeAttribute("aria-busy");
  }
}

async function refresh() {
  const message = $("#page-message");
  try {
    await loadProviders();
    show(message, "", "");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Signed out: ${error.message}. Sign in again.`);
      return;
    }
    if (error instanceof ApiError && error.status === 0) clearSuccesses();
    show(message, describe(error), "error");
  }
}

const VENDORS = [
  ["openai", "OpenAI", "API key"],
  ["gemini", "Gemini", "Google AI Studio API key"],
  ["anthropic", "Anthropic", "Claude API key"],
];

function addVendorCards() {
  const template = $("#vendor-card");
  for (const [provider, title, subtitle] of VENDORS) {
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.provider = provider;
    card.setAttribute("aria-labelledby", `${provider}-title`);
    $('[data-slot="title"]', card).id = `${provider}-title`;
    $('[data-slot="title"]', card).textContent = title;
    $('[data-slot="subtitle"]', card).textContent = subtitle;
    $('[data-slot="key"]', card).id = `${provider}-api-key`;
    $('[data-slot="key-label"]', card).htmlFor = `${provider}-api-key`;
    template.before(card);
  }
}

function start() {
  addVendorCards();
  $("#sign-in-form").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", () => signOut());
  $("#refresh").addEventListener("click", refresh);
  $("#providers-title").tabIndex = -1;
  for (const card of cards()) {
    const form = $("[data-form]", card);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(card, "save");
    });
    for (const name of Object.keys(DESTINATION_FIELDS)) {
      const input = $(`[name="${name}"]`, card);
      if (input) input.addEventListener(input.tagName === "SELECT" ? "change" : "input", () => secretHints(card));
    }
    for (const button of card.querySelectorAll("button[data-action]:not([type=submit])")) {
      button.addEventListener("click", () => run(card, button.dataset.action));
    }
  }
  if (sessionStorage.getItem(TOKEN_KEY)) {
    signedIn(true);
    refresh();
  } else {
    signedIn(false);
  }
}

start();
