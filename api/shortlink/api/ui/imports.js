// Bulk import from CSV: parse in the browser, preview every row, have the API
// check them all (POST /v1/urls/bulk?dry_run=true: nothing is created), show each
// bad row's error, and only when none is bad create them in one request.

import { api } from "./api.js";
import { IMPORT_COLUMNS as COLUMNS, parseCsv, rowsToItems, toCsv } from "./csv.js";
import { download, field, h, table } from "./dom.js";
import { announce, errorBox, page, showError } from "./shell.js";

const MAX_ROWS = 1000;

export function importView() {
  const file = h("input", { type: "file", name: "csv", accept: ".csv,text/csv" });
  const problem = errorBox();
  const summary = h("div", { class: "summary", role: "status" });
  const preview = h("div", { class: "preview" });
  const create = h("button", { type: "button", class: "primary", disabled: true }, "Create links");
  let items = [], firstLine = 1;

  const render = (errors = new Map(), created = null) => {
    preview.replaceChildren(table(`${items.length} rows from the file`,
      ["Line", "Result", "Destination URL", "Alias", "Expires", "Password", "Redirect"],
      items.map((item, i) => {
        const error = errors.get(i);
        const outcome = created?.get(i);
        return [String(i + firstLine),
          error ? h("span", { class: "bad" }, `${error.message}${error.suggestions?.length
            ? ` (free: ${error.suggestions.join(", ")})` : ""}`)
            : outcome ? h("a", { href: outcome }, outcome) : h("span", { class: "muted" }, "ok"),
          item.original_url, item.custom_alias || "", item.expires_at || "",
          item.password ? "yes" : "", String(item.redirect_type || "")];
      }), { numeric: [0] }));
    const rows = [...preview.querySelectorAll("tbody tr")];
    errors.forEach((_, i) => rows[i]?.classList.add("row-error"));
  };

  async function check() {
    problem.hidden = true;
    create.disabled = true;
    summary.textContent = "Checking…";
    try {
      await api("POST", "/v1/urls/bulk", { body: { urls: items }, query: { dry_run: "true" } });
      render();
      summary.textContent = `All ${items.length} rows are valid. Nothing has been created yet.`;
      create.disabled = false;
    } catch (error) {
      if (error.code !== "INVALID_URLS") { summary.textContent = ""; return showError(problem, error); }
      const errors = new Map(error.body.invalid_urls.map((e) => [e.index, e]));
      render(errors);
      summary.replaceChildren(h("strong", {}, `${errors.size} of ${items.length} rows have problems.`),
        " Nothing was created. Fix them in the file and choose it again.");
      announce(`${errors.size} rows have problems; nothing was created`);
    }
  }

  file.addEventListener("change", async () => {
    problem.hidden = true;
    preview.replaceChildren();
    summary.textContent = "";
    create.disabled = true;
    const chosen = file.files[0];
    if (!chosen) return;
    const rows = parseCsv(await chosen.text());
    if (!rows.length) { summary.textContent = "The file has no rows."; return; }
    ({ items, firstLine } = rowsToItems(rows));
    const { unknown } = rowsToItems(rows);
    if (unknown.length) {
      summary.textContent = `Unknown columns: ${unknown.join(", ")}. Use ${COLUMNS.join(", ")}.`;
      return;
    }
    if (!items.length) { summary.textContent = "The file has a header but no rows."; return; }
    if (items.length > MAX_ROWS) {
      summary.textContent = `The file has ${items.length} rows; at most ${MAX_ROWS} per import.`;
      return;
    }
    render();
    await check();
  });

  create.addEventListener("click", async () => {
    create.disabled = true;
    problem.hidden = true;
    try {
      const result = await api("POST", "/v1/urls/bulk", { body: { urls: items } });
      const created = new Map(), errors = new Map();
      for (const r of result.results) {
        if (r.error) errors.set(r.index, r); else created.set(r.index, r.short_url);
      }
      render(errors, created);
      summary.replaceChildren(h("strong", {}, `Created ${result.created} links.`),
        result.failed ? ` ${result.failed} failed (see the rows marked).` : "");
      announce(`Created ${result.created} links`);
    } catch (error) {
      if (error.code === "INVALID_URLS") return check();
      showError(problem, error);
    }
  });

  const template = () => download("shortlink-import-template.csv", toCsv([COLUMNS,
    ["https://example.com/spring-sale", "spring-sale", "2030-01-01T00:00:00Z", "", "302"]]),
    "text/csv");

  page("Import links from CSV",
    h("section", { class: "card" },
      h("p", {}, "One link per row. Columns (a header row names them): ",
        h("code", {}, COLUMNS.join(", ")),
        ". Only original_url is required. Every row is checked first: if any is bad, nothing is created."),
      h("p", {}, h("button", { type: "button", onclick: template }, "Download a template")),
      field("CSV file", file),
      problem, summary, h("div", { class: "row" }, create)),
    preview);
}
