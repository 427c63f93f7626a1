// Signing in and out, and the menu a signed-in person sees.

import { api, ApiError, setCsrfToken } from "./api.js";
import { field, h } from "./dom.js";
import { announce, errorBox, navigate, page, parseHash, showError, state } from "./shell.js";

// The menu: [hash, text, first part of the route it marks as current].
function menuItems(session) {
  return [["#/links", "Links", "links"], ["#/new", "New link", "new"],
          ["#/import", "Import CSV", "import"],
          ["#/keys", session.is_admin ? "API keys" : "My API keys", "keys"]];
}

export function renderNav() {
  const nav = document.getElementById("nav");
  const session = state.session;
  nav.hidden = !session;
  if (!session) { nav.replaceChildren(); return; }
  const current = parseHash().parts[0];
  const signOut = h("button", { type: "button", class: "link-button", onclick: signOutNow },
    "Sign out");
  nav.replaceChildren(h("ul", {},
    menuItems(session).map(([href, text, name]) => h("li", {},
      h("a", { href, "aria-current": current === name ? "page" : null }, text))),
    h("li", { class: "who" }, h("span", {}, `Signed in as ${session.subject || session.owner}`)),
    h("li", {}, signOut)));
}

// When the session ends (epoch ms), kept in localStorage: never the key, nor the
// cookie. Without one in the future there is no session to ask the server about, and
// the page shows the sign-in form at once instead of a 401 in every new visitor's console.
const SESSION_ENDS = "shortlink.session-ends";

export function startSession(session) {
  state.session = session;
  setCsrfToken(session ? session.csrf_token : null);
  if (session) localStorage.setItem(SESSION_ENDS, String(Date.parse(session.expires_at)));
  else localStorage.removeItem(SESSION_ENDS);
}

// The session this browser has, or null; asks the server only if there may be one.
export async function currentSession() {
  if (!(Number(localStorage.getItem(SESSION_ENDS)) > Date.now())) return null;
  try {
    return await api("GET", "/v1/sessions");
  } catch (error) {
    if (error.status === 401) return null;
    throw error;
  }
}

async function signOutNow() {
  try { await api("DELETE", "/v1/sessions"); } catch { /* the cookie is gone either way */ }
  startSession(null);
  announce("Signed out");
  navigate("#/signin");
}

export function signInView(message) {
  const key = h("input", { type: "password", name: "api_key", required: true,
                           autocomplete: "current-password", spellcheck: "false" });
  const problem = errorBox();
  if (message) { problem.hidden = false; problem.textContent = message; }
  const form = h("form", { class: "card narrow", oninput: () => { problem.hidden = true; },
                                 onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    try {
      startSession(await api("POST", "/v1/sessions", { body: { api_key: key.value.trim() } }));
      const wanted = sessionStorage.getItem("after-sign-in") || "#/links";
      sessionStorage.removeItem("after-sign-in");
      navigate(wanted === "#/signin" ? "#/links" : wanted);
    } catch (error) {
      showError(problem, error.code === "UNAUTHORIZED"
        ? new ApiError(401, { message: "That API key is not valid, or it was revoked" }) : error);
      key.focus();
    }
  } },
  h("p", {}, "Sign in with your API key. It is sent once; the browser then keeps only a " +
             "session cookie that scripts can't read."),
  field("API key", key),
  problem,
  h("button", { type: "submit", class: "primary" }, "Sign in"));
  page("Sign in", form);
  offerSingleSignOn(form);
}

// "Sign in with SSO", when the server has an OpenID provider: a plain navigation to
// the provider and back. The session's end is noted as possible (the sign-in's
// lifetime), so that on return the page asks the server whether it has one.
async function offerSingleSignOn(form) {
  let status;
  try { status = await api("GET", "/v1/oidc"); } catch { return; }
  if (!status.enabled || !form.isConnected) return;
  const sso = h("a", { href: status.login_url, class: "button primary", onclick: () => {
    localStorage.setItem(SESSION_ENDS, String(Date.now() + 10 * 60 * 1000));
  } }, "Sign in with SSO");
  form.prepend(h("p", {}, sso));
}
