// The workspace's audit log (admins and owners): newest first, filtered by link,
// actor, action and time (the filters live in the page's address, so a view can be
// shared or reloaded), more pages by the API's cursor, and an entry's changes.

import { api } from "./api.js";
import { field, h, uid } from "./dom.js";
import { formatDate, fromLocalInput, plural, toLocalInput } from "./format.js";
import { errorBox, page, showError, state } from "./shell.js";
import { auditFilters, auditHash, changedFields, targetText } from "./workspaces.js";

const ACTIONS = ["link.create", "link.update", "link.delete", "link.restore", "key.create",
                 "key.update", "key.revoke", "member.create", "member.update", "member.delete",
                 "workspace.update"];
const COLUMNS = ["When", "Who", "Action", "Target", "Outcome", "IP", "Changes"];
const PAGE_SIZE = 50;

export async function auditView(params) {
  const filters = auditFilters(params);
  const input = (name, type = "text") => h("input", { type, name, value: filters[name] || "",
                                                      maxlength: 200, spellcheck: "false" });
  const link = input("link");
  const actor = input("actor");
  const action = input("action");
  const actions = h("datalist", { id: uid("actions") }, ACTIONS.map((a) => h("option", { value: a })));
  action.setAttribute("list", actions.id);
  const localOf = (iso) => iso && !Number.isNaN(Date.parse(iso)) ? toLocalInput(new Date(iso)) : "";
  const from = h("input", { type: "datetime-local", name: "from", value: localOf(filters.from) });
  const to = h("input", { type: "datetime-local", name: "to", value: localOf(filters.to) });

  const problem = errorBox();
  const body = h("tbody");
  const results = h("div", { "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let cursor = null;
  let shown = 0;

  const form = h("form", { class: "card audit-filters", onsubmit: (event) => {
    event.preventDefault();
    const wanted = { link: link.value.trim(), actor: actor.value.trim(), action: action.value.trim(),
                     from: fromLocalInput(from.value), to: fromLocalInput(to.value) };
    history.replaceState(null, "", auditHash(wanted));
    Object.keys(filters).forEach((name) => delete filters[name]);
    Object.assign(filters, auditFilters(new URLSearchParams(auditHash(wanted).split("?")[1])));
    body.replaceChildren();
    cursor = null; shown = 0;
    load();
  } },
  h("h2", {}, "Filter"),
  h("div", { class: "filter-fields" },
    field("Link", link, "A short code: that link's history."),
    field("Who", actor, "An e-mail address, key:<id> or a ServiceAccount."),
    field("Action", action, "e.g. link.update or member.delete."), actions,
    field("From", from), field("To", to)),
  h("button", { type: "submit", class: "primary" }, "Apply filters"), " ",
  h("a", { href: "#/workspace/audit", class: "button" }, "Clear filters"));

  async function load() {
    problem.hidden = true;
    more.disabled = true;
    try {
      const data = await api("GET", "/v1/workspace/audit",
                             { query: { ...filters, cursor, limit: PAGE_SIZE } });
      body.append(...data.items.flatMap(rows));
      shown += data.items.length;
      cursor = data.next_cursor;
      render();
    } catch (error) { showError(problem, error); }
    more.disabled = false;
  }
  more.addEventListener("click", load);

  function render() {
    const filtered = Object.keys(filters).length > 0;
    more.hidden = !cursor;
    if (shown === 0) {
      results.replaceChildren(h("p", { class: "empty" },
        filtered ? "No entries match these filters." : "Nothing has been changed here yet."));
      return;
    }
    results.replaceChildren(h("div", { class: "table-wrap", tabindex: 0, role: "region",
                                       "aria-label": "Audit log" },
      h("table", { class: "audit" },
        h("caption", {}, `${plural(shown, "entry", "entries")}${cursor ? ", more to load" : ""}`),
        h("thead", {}, h("tr", {}, COLUMNS.map((t) => h("th", { scope: "col" }, t)))),
        body)));
  }

  page(`Audit log of ${state.session.workspace}`, form, problem, results, h("p", {}, more));
  await load();
}

// An entry's row, and the row of its changes below it, shown by its button.
function rows(entry) {
  const changes = changedFields(entry.before, entry.after);
  const detailsId = uid("changes");
  const details = h("tr", { id: detailsId, class: "audit-changes", hidden: true },
    h("td", { colspan: COLUMNS.length }, changes.length === 0
      ? h("p", { class: "muted" }, "No field values recorded for this entry.")
      : h("table", { class: "diff" },
        h("caption", {}, `Changes of ${entry.action} ${entry.target}`),
        h("thead", {}, h("tr", {}, ["Field", "Before", "After"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, changes.map(([name, before, after]) => h("tr", {},
          h("th", { scope: "row" }, name), h("td", {}, h("code", {}, before)),
          h("td", {}, h("code", {}, after))))))));
  const toggle = h("button", { type: "button", class: "small", "aria-expanded": "false",
                               "aria-controls": detailsId,
                               "aria-label": `Changes of entry ${entry.id}`, onclick: () => {
    details.hidden = !details.hidden;
    toggle.setAttribute("aria-expanded", String(!details.hidden));
    toggle.textContent = details.hidden ? "Show" : "Hide";
  } }, "Show");
  return [h("tr", { dataset: { entry: entry.id } },
    h("td", {}, h("time", { datetime: entry.at }, formatDate(entry.at))),
    h("td", {}, entry.actor, h("span", { class: "muted" }, ` (${entry.actor_kind})`)),
    h("td", {}, h("code", {}, entry.action)),
    h("td", {}, targetText(entry)),
    h("td", {}, entry.outcome === "denied" ? h("span", { class: "badge badge-deactivated" }, "denied")
      : "ok"),
    h("td", {}, entry.ip || "—"),
    h("td", {}, toggle)), details];
}
