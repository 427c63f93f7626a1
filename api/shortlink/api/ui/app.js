// The Shortlink web UI: a hash-routed single page over the public /v1 API.
// This module boots it: the routes, the session check, and the events that route.

import { h } from "./dom.js";
import { linksView, newLinkView, linkView } from "./links.js";
import { importView } from "./imports.js";
import { keysView } from "./keys.js";
import { currentSession, renderNav, settleWorkspace, signInView, startSession } from "./session.js";
import { errorBox, page, parseHash, showError, state } from "./shell.js";

const routes = {
  links: (parts, params) => parts.length === 1 ? linksView(params)
    : parts[2] === "stats" ? import("./stats.js").then((m) => m.statsView(parts[1], params))
    : parts[2] === "rules" ? import("./rules.js").then((m) => m.rulesView(parts[1]))
    : linkView(parts[1]),
  stats: (parts, params) => import("./stats.js").then((m) => m.statsView(null, params)),
  new: () => newLinkView(),
  import: () => importView(),
  keys: () => keysView(),
  workspace: (parts, params) => parts[1] === "members" ? import("./members.js").then((m) => m.membersView())
    : parts[1] === "audit" ? import("./audit.js").then((m) => m.auditView(params))
    : notFound(),
};

const notFound = () => page("Not found", h("p", {}, "There is no such page. ",
                                          h("a", { href: "#/links" }, "Go to your links.")));

async function route() {
  const { parts, params } = parseHash();
  if (parts[0] === "signin") { startSession(null); renderNav(); return signInView(); }
  if (!state.session) {
    try {
      startSession(await currentSession());
      if (state.session) await settleWorkspace();
    } catch (error) {
      return page("Shortlink", h("p", { role: "alert" }, error.message));
    }
    if (!state.session) {
      sessionStorage.setItem("after-sign-in", location.hash || "#/links");
      renderNav();
      return signInView();
    }
  }
  renderNav();
  const view = routes[parts[0]];
  if (!view) return notFound();
  try {
    await view(parts, params);
  } catch (error) {
    const box = errorBox();
    // An unknown link, or one that isn't yours: the API's "No link with code …" alone.
    page(error.status === 404 ? "Not found" : "Something went wrong", box);
    showError(box, error);
  }
}

window.addEventListener("session-ended", () => {
  if (!state.session) return;
  startSession(null);
  renderNav();
  signInView("Your session has ended. Please sign in again.");
});
window.addEventListener("hashchange", route);
route();
