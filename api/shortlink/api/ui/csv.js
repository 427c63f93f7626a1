// CSV in and out, and import rows as link items. Pure functions (no DOM),
// unit-tested with node --test.

// CSV out: quoted as RFC 4180 asks, and cells a spreadsheet would run as a
// formula (=, +, -, @) defused with a leading apostrophe.
export function toCsv(rows) {
  const cell = (value) => {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return rows.map((row) => row.map(cell).join(",")).join("\r\n") + "\r\n";
}

// CSV in (RFC 4180: quotes, doubled quotes, newlines inside quotes, CRLF or LF).
export function parseCsv(text) {
  const rows = [];
  let row = [], value = "", quoted = false;
  text = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { value += '"'; i++; }
      else if (c === '"') quoted = false;
      else value += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(value); value = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(value); rows.push(row); row = []; value = "";
    } else value += c;
  }
  if (value !== "" || row.length) { row.push(value); rows.push(row); }
  return rows.filter((r) => r.some((cell) => cell.trim() !== ""));
}

export const IMPORT_COLUMNS = ["original_url", "custom_alias", "expires_at", "password",
                               "redirect_type"];

// Parsed CSV rows → the bulk API's items. A header row (naming original_url or
// url) picks the columns; without one the columns are IMPORT_COLUMNS in order.
export function rowsToItems(rows) {
  const header = rows[0].map((cell) => cell.trim().toLowerCase());
  const hasHeader = header.includes("original_url") || header.includes("url");
  const names = hasHeader ? header.map((n) => (n === "url" ? "original_url" : n)) : IMPORT_COLUMNS;
  const unknown = hasHeader ? names.filter((n) => n && !IMPORT_COLUMNS.includes(n)) : [];
  const body = hasHeader ? rows.slice(1) : rows;
  const items = body.map((row) => {
    const item = {};
    names.forEach((name, i) => {
      const value = (row[i] ?? "").trim();
      if (!value || !IMPORT_COLUMNS.includes(name)) return;
      item[name] = name === "redirect_type" && /^\d+$/.test(value) ? Number(value) : value;
    });
    if (!("original_url" in item)) item.original_url = "";
    return item;
  });
  return { items, unknown, firstLine: hasHeader ? 2 : 1 };
}
