// Links: the list (search, filters, sort, cursor pages, CSV export), a new link
// (alias availability, suggestions), and one link (copy, QR, edit, deactivate, delete).

import { api } from "./api.js";
import { toCsv } from "./csv.js";
import { copyText, download, field, h, svg } from "./dom.js";
import { formatDate, fromLocalInput, linkStatus, plural, sparklinePoints, toLocalInput } from "./format.js";
import { announce, confirmDialog, errorBox, navigate, page, showError } from "./shell.js";

const STATUSES = [["all", "All"], ["active", "Active"], ["expired", "Expired"],
                  ["inactive", "Deactivated"], ["protected", "Password-protected"]];
const SORTS = [["-created_at", "Newest first"], ["created_at", "Oldest first"],
               ["code", "Code A–Z"], ["-code", "Code Z–A"]];
const REDIRECTS = [[302, "302 Found (temporary, default)"], [301, "301 Moved permanently"],
                   [307, "307 Temporary, keeps method"], [308, "308 Permanent, keeps method"]];
const PAGE_SIZE = 20;

const select = (name, options, value) => h("select", { name },
  options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));

const badges = (link) => h("span", { class: "badges" },
  linkStatus(link).map((label) => h("span", { class: `badge badge-${label}` }, label)));

function copyButton(link, status) {
  return h("button", { type: "button", class: "small",
                       "aria-label": `Copy short URL ${link.short_url}`,
                       onclick: () => copyText(link.short_url, status) }, "Copy");
}

// The list's columns; below 40rem each row is a card and each cell says its column.
const COLUMNS = ["Short link", "Target", "Clicks", "Status", "Created", "Expires", "Actions"];
const cell = (column, content, className = null) =>
  h("td", { class: className, dataset: { label: COLUMNS[column] } }, h("span", {}, content));

// All-time clicks, and a sparkline of the last 7 days (the text says the same).
function clicksOf(link) {
  if (!link.clicks) return h("span", { class: "muted" }, "—");
  const week = link.clicks.last_7_days;
  const inWeek = week.reduce((a, b) => a + b, 0);
  return h("span", { class: "clicks-cell" },
    h("span", { class: "number", dataset: { clicks: link.clicks.total } },
      link.clicks.total.toLocaleString()),
    // A quiet week is a faint baseline, not a line that reads as an underline.
    svg("svg", { class: inWeek ? "sparkline" : "sparkline quiet", viewBox: "0 0 70 20",
                 width: 70, height: 20,
                 "aria-hidden": "true", focusable: "false" },
      svg("polyline", { points: sparklinePoints(week, 70, 20, 2) })),
    h("span", { class: "visually-hidden" }, ` in all; ${plural(inWeek, "click")} in the last 7 days`));
}

export async function linksView(params) {
  const filters = { q: params.get("q") || "", status: params.get("status") || "all",
                    sort: params.get("sort") || "-created_at" };
  const cursors = [null];  // cursor of each page seen, to go back
  const search = h("input", { type: "search", name: "q", value: filters.q,
                              placeholder: "code or target URL" });
  const status = select("status", STATUSES, filters.status);
  const sort = select("sort", SORTS, filters.sort);
  const problem = errorBox();
  const results = h("div", { id: "results", "aria-live": "polite" });
  const live = h("p", { class: "visually-hidden", role: "status" });
  const pager = h("div", { class: "pager" });

  const apply = () => {
    const query = new URLSearchParams();
    if (search.value.trim()) query.set("q", search.value.trim());
    if (status.value !== "all") query.set("status", status.value);
    if (sort.value !== "-created_at") query.set("sort", sort.value);
    const hash = `#/links${query.size ? `?${query}` : ""}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    filters.q = search.value.trim(); filters.status = status.value; filters.sort = sort.value;
    cursors.length = 1;
    load(0);
  };
  let timer;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(apply, 250); });
  status.addEventListener("change", apply);
  sort.addEventListener("change", apply);

  let latest = 0;  // answers can arrive out of order while someone types: show the last asked
  async function load(index) {
    problem.hidden = true;
    const asked = ++latest;
    try {
      const data = await api("GET", "/v1/urls", { query: {
        ...filters, limit: PAGE_SIZE, cursor: cursors[index], include: "clicks" } });
      if (asked !== latest) return;
      cursors[index + 1] = data.next_cursor;
      render(data.items.map((link) => ({ ...link, clicks: data.clicks?.[link.short_code] })),
             index, data.next_cursor);
    } catch (error) { showError(problem, error); }
  }

  function render(items, index, next) {
    if (!items.length) {
      results.replaceChildren(h("p", { class: "empty" }, filters.q || filters.status !== "all"
        ? "No links match." : "No links yet. ", h("a", { href: "#/new" }, "Create one.")));
    } else {
      results.replaceChildren(h("div", { class: "table-wrap", tabindex: 0, role: "region",
                                         "aria-label": "Your links" },
        h("table", { class: "links" },
          h("caption", { class: "visually-hidden" }, `Your links, page ${index + 1}`),
          h("thead", {}, h("tr", {}, COLUMNS.map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((link) => h("tr", { dataset: { code: link.short_code } },
            // The code opens the link's page here; the short URL itself is for others.
            cell(0, [h("a", { href: `#/links/${encodeURIComponent(link.short_code)}`, class: "code" },
              link.short_code), " ", copyButton(link, live)]),
            cell(1, link.original_url, "target"),
            cell(2, clicksOf(link), "clicks"),
            cell(3, badges(link)),
            cell(4, formatDate(link.created_at)),
            cell(5, formatDate(link.expires_at)),
            cell(6, [
              h("a", { href: `#/links/${encodeURIComponent(link.short_code)}`,
                       "aria-label": `Manage ${link.short_code}` }, "Manage"),
              h("a", { href: `#/links/${encodeURIComponent(link.short_code)}/stats`,
                       "aria-label": `Stats of ${link.short_code}` }, "Stats")], "actions")))))));
    }
    live.textContent = `${plural(items.length, "link")} shown`;
    pager.replaceChildren(
      h("button", { type: "button", disabled: index === 0, onclick: () => load(index - 1) },
        "Previous page"),
      h("span", {}, `Page ${index + 1}`),
      h("button", { type: "button", disabled: !next, onclick: () => load(index + 1) },
        "Next page"));
  }

  async function exportCsv() {
    const rows = [["short_code", "short_url", "original_url", "status", "created_at",
                   "expires_at", "redirect_type", "password_protected"]];
    let cursor = null;
    try {
      do {
        const data = await api("GET", "/v1/urls", { query: { ...filters, limit: 100, cursor } });
        for (const link of data.items) {
          rows.push([link.short_code, link.short_url, link.original_url,
                     linkStatus(link).join(" "), link.created_at, link.expires_at || "",
                     link.redirect_type, link.password_protected]);
        }
        cursor = data.next_cursor;
      } while (cursor);
      download("shortlink-links.csv", toCsv(rows), "text/csv");
      announce(`Exported ${rows.length - 1} links`);
    } catch (error) { showError(problem, error); }
  }

  page("Your links",
    h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); apply(); } },
      field("Search", search), field("Status", status), field("Sort by", sort),
      h("div", { class: "filter-actions" },
        h("button", { type: "button", onclick: exportCsv }, "Export CSV"),
        h("a", { class: "button primary", href: "#/new" }, "New link"))),
    problem, live, results, pager);
  await load(0);
}

// A live alias check: a documented API call, debounced; suggestions are buttons.
function aliasChecker(input, status) {
  let timer, asked = "";
  const check = async () => {
    const alias = input.value.trim();
    asked = alias;
    if (!alias) { status.replaceChildren(); return; }
    try {
      const answer = await api("GET", `/v1/aliases/${encodeURIComponent(alias)}`);
      if (asked !== alias) return;
      if (answer.available) status.replaceChildren(h("span", { class: "ok" }, `“${alias}” is available`));
      else showSuggestions(status, `“${alias}” is taken.`, answer.suggestions, input);
    } catch (error) {
      if (asked === alias) status.replaceChildren(h("span", { class: "bad" }, error.message));
    }
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 300); });
}

function showSuggestions(container, text, suggestions, input) {
  container.replaceChildren(h("span", { class: "bad" }, text),
    suggestions.length ? " Free instead: " : "",
    ...suggestions.map((alias) => h("button", { type: "button", class: "small suggestion",
      onclick: () => {
        input.value = alias;
        input.dispatchEvent(new Event("input", { bubbles: true }));  // as if typed
        container.replaceChildren(h("span", { class: "ok" }, `“${alias}” is available`));
        input.focus();
      } }, alias)));
}

function linkFormFields(link = {}) {
  const url = h("input", { type: "url", name: "original_url", required: true, maxlength: 2048,
                           value: link.original_url || "", placeholder: "https://…" });
  const expires = h("input", { type: "datetime-local", name: "expires_at",
                               value: link.expires_at ? toLocalInput(new Date(link.expires_at)) : "" });
  const redirect = select("redirect_type", REDIRECTS, link.redirect_type || 302);
  return { url, expires, redirect };
}

export function newLinkView() {
  const { url, expires, redirect } = linkFormFields();
  const alias = h("input", { type: "text", name: "custom_alias", maxlength: 20,
                             pattern: "[A-Za-z0-9_\\-]{3,20}", autocomplete: "off",
                             spellcheck: "false" });
  const aliasStatus = h("div", { class: "alias-status", "aria-live": "polite" });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password",
                                maxlength: 72 });
  aliasChecker(alias, aliasStatus);
  const problem = errorBox();
  const result = h("div", { class: "result", "aria-live": "polite" });
  // An error box says what was wrong with what was sent: editing the form retires it.
  const form = h("form", { class: "card", oninput: () => { problem.hidden = true; },
                           onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    result.replaceChildren();
    const body = { original_url: url.value.trim(), redirect_type: Number(redirect.value) };
    if (alias.value.trim()) body.custom_alias = alias.value.trim();
    if (expires.value) body.expires_at = fromLocalInput(expires.value);
    if (password.value) body.password = password.value;
    try {
      const link = await api("POST", "/v1/urls", { body });
      form.reset();
      aliasStatus.replaceChildren();
      const status = h("p", { role: "status" });
      const created = h("h2", { tabindex: -1 }, "Link created");
      result.replaceChildren(h("div", { class: "card success" },
        created,
        h("p", {}, h("a", { href: link.short_url, class: "code big" }, link.short_url), " ",
          copyButton(link, status)),
        status,
        h("p", {}, h("a", { href: `#/links/${encodeURIComponent(link.short_code)}` },
          "Manage it and get its QR code"))));
      // Below the fold on a phone: bring it into view and move focus to it.
      created.focus();
      created.scrollIntoView({ block: "start" });
      announce(`Created ${link.short_url}`);
    } catch (error) {
      showError(problem, error);
      if (error.code === "ALIAS_TAKEN") {
        showSuggestions(aliasStatus, `“${body.custom_alias}” is taken.`,
                        error.body.suggestions || [], alias);
        alias.focus();
      }
    }
  } },
  field("Destination URL", url, "The long http(s) address people are sent to."),
  field("Custom alias (optional)", alias,
        "3–20 letters, digits, - or _. Leave empty for a generated code."),
  aliasStatus,
  field("Expires (optional)", expires, "In your local time. Visitors get “expired” after it."),
  field("Password (optional)", password, "Visitors must enter it to be redirected."),
  field("Redirect type", redirect),
  problem,
  h("button", { type: "submit", class: "primary" }, "Create link"));
  page("New link", form, result);
}

export async function linkView(code) {
  const link = await api("GET", `/v1/urls/${encodeURIComponent(code)}`);
  const path = `/v1/urls/${encodeURIComponent(code)}`;
  const problem = errorBox();
  const status = h("p", { role: "status" });
  const { url, expires, redirect } = linkFormFields(link);
  const active = h("input", { type: "checkbox", name: "is_active", checked: link.is_active });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password",
                                maxlength: 72 });
  const removePassword = h("input", { type: "checkbox", name: "remove_password",
                                      disabled: !link.password_protected });
  const edit = h("form", { class: "card", oninput: () => { problem.hidden = true; },
                           onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const changes = {};
    if (url.value.trim() !== link.original_url) changes.original_url = url.value.trim();
    const newExpiry = fromLocalInput(expires.value);
    const oldExpiry = link.expires_at ? fromLocalInput(toLocalInput(new Date(link.expires_at))) : null;
    if (newExpiry !== oldExpiry) changes.expires_at = newExpiry;
    if (Number(redirect.value) !== link.redirect_type) changes.redirect_type = Number(redirect.value);
    if (active.checked !== link.is_active) changes.is_active = active.checked;
    if (password.value) changes.password = password.value;
    else if (removePassword.checked) changes.password = null;
    if (!Object.keys(changes).length) { status.textContent = "Nothing changed."; return; }
    try {
      await api("PATCH", path, { body: changes });
      announce("Saved");
      await linkView(code);
      document.querySelector("[role=status].saved")?.replaceChildren("Changes saved.");
    } catch (error) { showError(problem, error); }
  } },
  h("h2", {}, "Edit"),
  field("Destination URL", url),
  field("Expires", expires, "Empty: never expires. In your local time."),
  field("Redirect type", redirect),
  h("div", { class: "check" }, active, h("label", { for: (active.id = "f-active") }, "Active (redirects work)")),
  field(link.password_protected ? "New password" : "Password", password,
        link.password_protected ? "Leave empty to keep the current one." : "Empty: no password."),
  link.password_protected ? h("div", { class: "check" }, removePassword,
    h("label", { for: (removePassword.id = "f-remove-pw") }, "Remove the password")) : null,
  problem,
  h("button", { type: "submit", class: "primary" }, "Save changes"));

  const toggle = h("button", { type: "button", onclick: async () => {
    try {
      await api("PATCH", path, { body: { is_active: !link.is_active } });
      announce(link.is_active ? "Deactivated" : "Activated");
      await linkView(code);
    } catch (error) { showError(problem, error); }
  } }, link.is_active ? "Deactivate" : "Activate");
  const remove = h("button", { type: "button", class: "danger", onclick: async () => {
    if (!await confirmDialog(`Delete ${code}?`, "The short link stops working for everyone, " +
        "and its code can never be used again. This can't be undone.", "Delete link")) return;
    try {
      await api("DELETE", path);
      announce(`Deleted ${code}`);
      navigate("#/links");
    } catch (error) { showError(problem, error); }
  } }, "Delete…");
  const qr = (format, size) => `${path}/qr?format=${format}&size=${size}`;
  // A ShortLink's link: its YAML is the truth, and the API refuses edits (409).
  const managed = link.managed_by === "kubernetes";
  const managedNote = managed ? h("p", { class: "managed" }, "Managed by Kubernetes: edit the ShortLink ",
    h("code", {}, link.managed_resource), " (kubectl or your GitOps repository), not here.") : null;

  page(`Link ${code}`,
    h("section", { class: "card" },
      h("p", {}, h("a", { href: link.short_url, class: "code big" }, link.short_url), " ",
        copyButton(link, status)),
      h("p", { class: "target" }, "Goes to ", h("a", { href: link.original_url }, link.original_url)),
      h("p", {}, badges(link), ` Created ${formatDate(link.created_at)}.`,
        link.expires_at ? ` Expires ${formatDate(link.expires_at)}.` : " Never expires."),
      managedNote, status, h("p", { role: "status", class: "saved" }),
      h("div", { class: "row" },
        h("a", { class: "button", href: `#/links/${encodeURIComponent(code)}/stats` }, "Statistics"),
        managed ? null : [
          h("a", { class: "button", href: `#/links/${encodeURIComponent(code)}/rules` }, "Rules"),
          toggle, remove])),
    h("section", { class: "card qr" },
      h("h2", {}, "QR code"),
      h("img", { src: qr("svg", 240), width: 240, height: 240,
                 alt: `QR code for ${link.short_url}` }),
      h("p", { class: "row" },
        h("a", { class: "button", href: qr("svg", 1024), download: `${code}.svg` }, "Download SVG"),
        h("a", { class: "button", href: qr("png", 1024), download: `${code}.png` }, "Download PNG"))),
    managed ? null : edit);
}
