// The page shell every view draws into: the session, the page heading and focus,
// announcements, navigation, error boxes and the confirm dialog. Views import
// this (and dom.js, api.js); only app.js knows the views.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

// The session, and the workspaces its person may switch between (none for a key).
export const state = { session: null, workspaces: [] };

export function announce(text) {
  const el = document.getElementById("announcer");
  el.textContent = "";
  setTimeout(() => { el.textContent = text; }, 50);
}

// Routing listens for hashchange; the same hash again routes again.
export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function parseHash(hash = location.hash) {
  const [path, query] = hash.replace(/^#/, "").split("?");
  return { parts: (path || "/links").split("/").filter(Boolean).map(decodeURIComponent),
           params: new URLSearchParams(query || "") };
}

// Every page: a heading the focus moves to, so keyboard and screen-reader users
// land at the top of what changed.
export function page(title, ...content) {
  const main = document.getElementById("main");
  document.title = `${title} · Shortlink`;
  const heading = h("h1", { tabindex: -1 }, title);
  main.replaceChildren(heading, ...content.filter((part) => part !== null && part !== false));
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

export function confirmDialog(title, text, confirmLabel) {
  return new Promise((resolve) => {
    const titleId = "dialog-title";
    const dialog = h("dialog", { "aria-labelledby": titleId },
      h("h2", { id: titleId }, title), h("p", {}, text),
      h("form", { method: "dialog", class: "dialog-actions" },
        h("button", { value: "cancel", type: "submit" }, "Cancel"),
        h("button", { value: "confirm", type: "submit", class: "danger" }, confirmLabel)));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "confirm"); });
    document.body.append(dialog);
    dialog.showModal();
  });
}
