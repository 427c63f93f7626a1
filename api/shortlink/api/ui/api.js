// The one way the UI talks to the server: the public /v1 API, with the session
// cookie (sent by the browser, unreadable to scripts) and the session's CSRF
// token on every state-changing request.

let csrfToken = null;
export const setCsrfToken = (token) => { csrfToken = token; };

// The workspace a person in several acts in: sent as X-Shortlink-Workspace on every
// call (null: the server's choice, as for a key, which has one).
let workspace = null;
export const setWorkspace = (slug) => { workspace = slug; };
export const currentWorkspace = () => workspace;

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body || {};
  }
  get code() { return this.body.error; }
}

// An API error as a sentence for people, never raw JSON.
export function describe(status, body) {
  if (status === 0) return "Can't reach the server. Check your connection and try again.";
  const message = body && typeof body.message === "string" ? body.message : null;
  switch (body && body.error) {
    case "UNAUTHORIZED": return "Your session has ended. Please sign in again.";
    case "CSRF_FAILED": return "This page is out of date. Reload it and try again.";
    case "RATE_LIMIT_EXCEEDED":
      return `Too many requests. Try again in ${body.retry_after ?? "a few"} seconds.`;
    case "ALIAS_TAKEN": return `${message}. Pick one of the suggestions or another alias.`;
    case "ANALYTICS_UNAVAILABLE": return `Statistics are unavailable right now: ${message}`;
    case "DATABASE_UNAVAILABLE": return "The service is briefly unavailable. Try again shortly.";
    default:
      if (message) return message.endsWith(".") ? message : `${message}.`;
      return status >= 500 ? "Something went wrong on our side. Try again shortly."
        : `The request failed (HTTP ${status}).`;
  }
}

export async function api(method, path, { body, query, raw = false } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    // An array is the parameter repeated (the stats' filter=…&filter=…).
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") url.searchParams.append(name, one);
    }
  }
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  if (workspace) headers["X-Shortlink-Workspace"] = workspace;
  let response;
  try {
    response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null);
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && path !== "/v1/sessions") {
      window.dispatchEvent(new CustomEvent("session-ended"));
    }
    throw error;
  }
  return data;
}
