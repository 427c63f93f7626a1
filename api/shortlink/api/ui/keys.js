// API keys: list, mint (the secret is shown once), revoke. Admins see and make
// keys for every owner; others manage their own (rotation).

import { api } from "./api.js";
import { copyText, field, h } from "./dom.js";
import { formatDate, plural } from "./format.js";
import { announce, confirmDialog, errorBox, page, showError, state } from "./shell.js";

export async function keysView() {
  const admin = state.session.is_admin;
  const problem = errorBox();
  const minted = h("div", { "aria-live": "polite" });
  const list = h("div");
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100 });
  const owner = h("input", { type: "text", name: "owner", maxlength: 200 });
  const isAdmin = h("input", { type: "checkbox", name: "is_admin", id: "f-key-admin" });

  async function load() {
    const { items } = await api("GET", "/v1/api-keys");
    list.replaceChildren(h("div", { class: "table-wrap", tabindex: 0, role: "region",
                                    "aria-label": "API keys" },
      h("table", {}, h("caption", {}, plural(items.length, "API key")),
        h("thead", {}, h("tr", {}, ["Name", "Starts with", "Owner", "Admin", "Created",
                                    "Status", "Action"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, items.map((key) => h("tr", {},
          h("td", {}, key.name), h("td", {}, h("code", {}, `${key.prefix}…`)), h("td", {}, key.owner),
          h("td", {}, key.is_admin ? "yes" : "no"), h("td", {}, formatDate(key.created_at)),
          h("td", {}, key.revoked_at ? `revoked ${formatDate(key.revoked_at)}` : "active"),
          h("td", {}, key.revoked_at ? "" : h("button", {
            type: "button", class: "small danger", "aria-label": `Revoke key ${key.name} (${key.prefix}…)`,
            onclick: async () => {
              if (!await confirmDialog(`Revoke “${key.name}”?`,
                  "Programs using this key stop working at once, browser sessions signed in " +
                  "with it end, and keys it minted are revoked too.", "Revoke key")) return;
              try {
                await api("DELETE", `/v1/api-keys/${key.id}`);
                announce(`Revoked ${key.name}`);
                await load();
              } catch (error) { showError(problem, error); }
            } }, "Revoke"))))))));
  }

  const form = h("form", { class: "card", oninput: () => { problem.hidden = true; },
                          onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const body = { name: name.value.trim() };
    if (admin && owner.value.trim()) body.owner = owner.value.trim();
    if (admin && isAdmin.checked) body.is_admin = true;
    try {
      const key = await api("POST", "/v1/api-keys", { body });
      form.reset();
      const status = h("p", { role: "status" });
      minted.replaceChildren(h("div", { class: "card success" },
        h("h2", {}, `New key “${key.name}” for ${key.owner}`),
        h("p", {}, h("strong", {}, "Copy it now: it is shown only this once.")),
        h("p", {}, h("code", { class: "secret", id: "new-key" }, key.key), " ",
          h("button", { type: "button", class: "small", onclick: () => copyText(key.key, status) },
            "Copy key")),
        status));
      await load();
    } catch (error) { showError(problem, error); }
  } },
  h("h2", {}, "Mint a key"),
  field("Name", name, "What uses it, e.g. “newsletter tool”."),
  admin ? field("Owner", owner, "Whose links the key manages: required unless it is an admin key.")
    : null,
  admin ? h("div", { class: "check" }, isAdmin, h("label", { for: "f-key-admin" }, "Admin key")) : null,
  problem,
  h("button", { type: "submit", class: "primary" }, "Mint key"));

  page(admin ? "API keys" : "My API keys", form, minted, list);
  await load();
}
