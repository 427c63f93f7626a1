// Signing in and out, the workspace acted in, and the menu a signed-in person sees.

import { api, ApiError, currentWorkspace, setCsrfToken, setWorkspace } from "./api.js";
import { field, h } from "./dom.js";
import { announce, errorBox, navigate, page, parseHash, showError, state } from "./shell.js";
import { atLeast, chooseWorkspace } from "./workspaces.js";

// The menu: [hash, text, the route path it marks as current (and pages under it)].
function menuItems(session) {
  const admin = atLeast(session.role, "admin");
  return [["#/links", "Links", "links"], ["#/stats", "Dashboard", "stats"], ["#/new", "New link", "new"],
          ["#/import", "Import CSV", "import"],
          ["#/keys", session.is_admin ? "API keys" : "My API keys", "keys"],
          admin ? ["#/workspace/members", "Members", "workspace/members"] : null,
          admin ? ["#/workspace/audit", "Audit log", "workspace/audit"] : null].filter(Boolean);
}

// For a person in several workspaces: which one the pages show. Hidden with one.
function workspaceSwitch() {
  const workspaces = state.workspaces;
  if (workspaces.length < 2) return null;
  const select = h("select", { id: "workspace-switch", name: "workspace",
                               onchange: () => switchWorkspace(select.value) },
    workspaces.map((w) => h("option", { value: w.slug, selected: w.slug === state.session.workspace },
      w.name === w.slug ? w.slug : `${w.name} (${w.slug})`)));
  return h("li", { class: "workspace-switch" },
    h("label", { for: "workspace-switch" }, "Workspace"), select);
}

export function renderNav() {
  const nav = document.getElementById("nav");
  const session = state.session;
  nav.hidden = !session;
  if (!session) { nav.replaceChildren(); return; }
  const path = parseHash().parts.join("/");
  const signOut = h("button", { type: "button", class: "link-button", onclick: signOutNow },
    "Sign out");
  nav.replaceChildren(h("ul", {},
    menuItems(session).map(([href, text, name]) => h("li", {},
      h("a", { href, "aria-current": path === name || path.startsWith(`${name}/`) ? "page" : null },
        text))),
    workspaceSwitch(),
    h("li", { class: "who" }, h("span", {}, `Signed in as ${session.subject || session.owner}`)),
    h("li", {}, signOut)));
}

// When the session ends (epoch ms), kept in localStorage: never the key, nor the
// cookie. Without one in the future there is no session to ask the server about, and
// the page shows the sign-in form at once instead of a 401 in every new visitor's console.
const SESSION_ENDS = "shortlink.session-ends";
// The workspace a person chose last, in this browser: a slug, nothing secret.
const KEPT_WORKSPACE = "shortlink.workspace";

export function startSession(session) {
  state.session = session;
  if (!session) { state.workspaces = []; setWorkspace(null); }
  setCsrfToken(session ? session.csrf_token : null);
  if (session) localStorage.setItem(SESSION_ENDS, String(Date.parse(session.expires_at)));
  else localStorage.removeItem(SESSION_ENDS);
}

// The session this browser has, or null; asks the server only if there may be one.
export async function currentSession() {
  if (!(Number(localStorage.getItem(SESSION_ENDS)) > Date.now())) return null;
  setWorkspace(localStorage.getItem(KEPT_WORKSPACE));
  try {
    return await api("GET", "/v1/sessions");
  } catch (error) {
    if (error.status === 401) return null;
    if (error.status === 403 && currentWorkspace()) {
      // No longer a member of the workspace kept from last time: the server's choice.
      localStorage.removeItem(KEPT_WORKSPACE);
      setWorkspace(null);
      return currentSession();
    }
    throw error;
  }
}

// After a sign-in or the session check: the workspaces a person may switch between,
// and the one every call then names. A key acts in its own: nothing to choose.
export async function settleWorkspace() {
  const session = state.session;
  if (session.kind !== "person") { state.workspaces = []; setWorkspace(null); return; }
  state.workspaces = (await api("GET", "/v1/workspaces")).items;
  const chosen = chooseWorkspace(localStorage.getItem(KEPT_WORKSPACE),
                                 state.workspaces.map((w) => w.slug), session.workspace);
  setWorkspace(chosen);
  if (chosen && chosen !== session.workspace) startSession(await api("GET", "/v1/sessions"));
}

async function switchWorkspace(slug) {
  const before = currentWorkspace();
  setWorkspace(slug);
  try {
    startSession(await api("GET", "/v1/sessions"));
  } catch (error) {
    setWorkspace(before);
    renderNav();
    announce(error.message);
    return;
  }
  localStorage.setItem(KEPT_WORKSPACE, slug);
  renderNav();
  const workspace = state.workspaces.find((w) => w.slug === slug);
  announce(`Now in workspace ${workspace ? workspace.name : slug}`);
  // A link's page belongs to the workspace left, and the workspace's own pages need
  // an admin there: the new one's list instead.
  const { parts } = parseHash();
  const elsewhere = (parts[0] === "links" && parts.length > 1)
    || (parts[0] === "workspace" && !atLeast(state.session.role, "admin"));
  navigate(elsewhere ? "#/links" : location.hash || "#/links");
}

// The person just left the workspace they act in (removed themselves): the session
// is asked for again, in the server's choice of the workspaces they have left.
export function leftWorkspace() {
  localStorage.removeItem(KEPT_WORKSPACE);
  setWorkspace(null);
  state.session = null;
  state.workspaces = [];
  navigate("#/links");
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
    setWorkspace(null);  // a key acts in its own workspace, whatever was chosen before
    try {
      startSession(await api("POST", "/v1/sessions", { body: { api_key: key.value.trim() } }));
      await settleWorkspace();
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
