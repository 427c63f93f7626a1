// The Shortlink web UI: a hash-routed single page over the public /v1 API.

import { api, ApiError, setCsrfToken } from "./api.js";
import { h, field } from "./dom.js";
import { linksView, newLinkView, linkView } from "./links.js";
import { importView } from "./imports.js";
import { statsView } from "./stats.js";
import { keysView } from "./keys.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
export const state = { session: null };

export function announce(text) {
  const el = document.getElementById("announcer");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50);
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function parseHash() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  return { parts: (path || "/links").split("/").filter(Boolean).map(decodeURIComponent),
           params: new URLSearchParams(query || "") };
}

// Every page: a heading the focus moves to, so keyboard and screen-reader users
// land at the top of what changed.
export function page(title, ...content) {
  document.title = `${title} · Shortlink`;
  const heading = h("h1", { tabindex: -1 }, title);
  main.replaceChildren(heading, ...content);
  heading.focus();
  return main;
}

export function errorBox() {
  return h("div", { class: "error", role: "alert", hidden: true });
}

export function showError(box, error) {
  box.hidden = false;
  box.textContent = error instanceof ApiError ? error.message
    : "Something went wrong in this page. Reload it and try again.";
  if (!(error instanceof ApiError)) console.error(error);
}

function renderNav() {
  const session = state.session;
  nav.hidden = !session;
  if (!session) { nav.replaceChildren(); return; }
  const current = parseHash().parts[0];
  const item = (href, text, name) => h("li", {},
    h("a", { href, "aria-current": current === name ? "page" : null }, text));
  const signOut = h("button", { type: "button", class: "link-button", onclick: signOutNow },
    "Sign out");
  nav.replaceChildren(h("ul", {},
    item("#/links", "Links", "links"),
    item("#/new", "New link", "new"),
    item("#/import", "Import CSV", "import"),
    item("#/keys", session.is_admin ? "API keys" : "My API keys", "keys"),
    h("li", { class: "who" }, h("span", {}, `Signed in as ${session.owner}`)),
    h("li", {}, signOut)));
}

async function signOutNow() {
  try { await api("DELETE", "/v1/sessions"); } catch { /* the cookie is gone either way */ }
  state.session = null;
  setCsrfToken(null);
  announce("Signed out");
  navigate("#/signin");
}

function signInView(message) {
  const key = h("input", { type: "password", name: "api_key", required: true,
                           autocomplete: "current-password", spellcheck: "false" });
  const problem = errorBox();
  if (message) { problem.hidden = false; problem.textContent = message; }
  const form = h("form", { class: "card narrow", onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    try {
      state.session = await api("POST", "/v1/sessions", { body: { api_key: key.value.trim() } });
      setCsrfToken(state.session.csrf_token);
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
}

const routes = {
  links: (parts, params) => parts.length === 1 ? linksView(params)
    : parts[2] === "stats" ? statsView(parts[1], params) : linkView(parts[1]),
  new: () => newLinkView(),
  import: () => importView(),
  keys: () => keysView(),
};

async function route() {
  const { parts, params } = parseHash();
  if (parts[0] === "signin") { state.session = null; renderNav(); return signInView(); }
  if (!state.session) {
    try {
      state.session = await api("GET", "/v1/sessions");
      setCsrfToken(state.session.csrf_token);
    } catch (error) {
      if (error.status !== 401) return page("Shortlink", h("p", { role: "alert" }, error.message));
      sessionStorage.setItem("after-sign-in", location.hash || "#/links");
      renderNav();
      return signInView();
    }
  }
  renderNav();
  const view = routes[parts[0]];
  if (!view) return page("Not found", h("p", {}, "There is no such page. ",
                                      h("a", { href: "#/links" }, "Go to your links.")));
  try {
    await view(parts, params);
  } catch (error) {
    const box = errorBox();
    page("Something went wrong", box);
    showError(box, error);
  }
}

window.addEventListener("session-ended", () => {
  if (!state.session) return;
  state.session = null;
  setCsrfToken(null);
  renderNav();
  signInView("Your session has ended. Please sign in again.");
});
window.addEventListener("hashchange", route);
route();
