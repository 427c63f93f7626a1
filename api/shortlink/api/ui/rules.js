// A link's rules (issue 22): its options document as the API takes it (rules,
// variants, click limit, schedule, fallbacks, UTM, tags, folder), a summary of the
// A/B split in percent, and "what would this visitor get": the server's own
// evaluator answers (POST /v1/urls/{code}/preview), so the page never guesses.
// The document is edited as JSON (docs/link-rules.md); a refusal names its field.

import { api } from "./api.js";
import { field, h } from "./dom.js";
import { announce, errorBox, page, showError } from "./shell.js";

const OPTION_FIELDS = ["rules", "variants", "max_clicks", "valid_from", "fallbacks", "utm",
                       "query_params", "pass_query", "tags", "folder"];
const DEVICES = ["", "desktop", "mobile", "tablet", "bot", "other"];
const SYSTEMS = ["", "ios", "android", "windows", "macos", "linux", "other"];
const BROWSERS = ["", "chrome", "firefox", "safari", "edge", "opera", "samsung", "other"];

function optionsOf(link) {
  return Object.fromEntries(OPTION_FIELDS.map((name) => [name, link[name]]));
}

function shares(variants) {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  return variants.map((v) => `${v.id} ${Math.round((v.weight / total) * 1000) / 10} %`).join(", ");
}

function splitSummary(link) {
  const lines = [];
  if (link.variants.length) lines.push(`Default split: ${shares(link.variants)}.`);
  for (const rule of link.rules) {
    if (rule.action.variants) lines.push(`Rule ${rule.id} splits: ${shares(rule.action.variants)}.`);
  }
  return lines.length ? lines.join(" ") : "No A/B split.";
}

function select(values) {
  return h("select", {}, ...values.map((v) => h("option", { value: v }, v || "(any)")));
}

function previewForm(code) {
  const country = h("input", { maxlength: 2, autocomplete: "off" });
  const device = select(DEVICES);
  const os = select(SYSTEMS);
  const browser = select(BROWSERS);
  const language = h("input", { placeholder: "de-DE,de;q=0.9", autocomplete: "off" });
  const at = h("input", { type: "datetime-local" });
  const answer = h("p", { role: "status", class: "preview-answer" });
  const box = errorBox();
  const form = h("form", { class: "card" },
    h("h2", {}, "What would this visitor get?"),
    field("Country", country, "ISO code, e.g. DE; empty: unknown"),
    field("Device", device), field("Operating system", os), field("Browser", browser),
    field("Accept-Language", language), field("Time", at, "Empty: now"),
    h("button", { type: "submit" }, "Preview"), box, answer);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    box.hidden = true;
    const visitor = { country: country.value.trim().toUpperCase() || null,
                      device: device.value || null, os: os.value || null,
                      browser: browser.value || null, accept_language: language.value || null,
                      at: at.value ? new Date(at.value).toISOString() : null };
    try {
      const got = await api("POST", `/v1/urls/${encodeURIComponent(code)}/preview`, { body: visitor });
      const by = got.rule_id ? `rule ${got.rule_id}` : "no rule";
      const variant = got.variant_id ? `, variant ${got.variant_id}` : "";
      answer.textContent = got.location
        ? `${got.redirect_type} to ${got.location} (${by}${variant})`
        : `No redirect: ${got.outcome.replace("_", " ")} page`;
      announce(answer.textContent);
    } catch (error) {
      showError(box, error);
    }
  });
  return form;
}

export async function rulesView(code) {
  const link = await api("GET", `/v1/urls/${encodeURIComponent(code)}`);
  const editor = h("textarea", { rows: 24, spellcheck: "false", class: "code" },
                   JSON.stringify(optionsOf(link), null, 2));
  const summary = h("p", {}, splitSummary(link));
  const saved = h("p", { role: "status", class: "saved" });
  const box = errorBox();
  const form = h("form", { class: "card" },
    field("Link options (JSON)", editor,
          "Rules, variants, max_clicks, valid_from, fallbacks, utm, query_params, pass_query, "
          + "tags and folder, as in docs/link-rules.md. null or [] clears a field."),
    summary, h("button", { type: "submit" }, "Save rules"), box, saved);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    box.hidden = true;
    saved.textContent = "";
    let changes;
    try {
      changes = JSON.parse(editor.value);
    } catch {
      box.hidden = false;
      box.textContent = "This is not valid JSON.";
      return;
    }
    try {
      const updated = await api("PATCH", `/v1/urls/${encodeURIComponent(code)}`, { body: changes });
      summary.textContent = splitSummary(updated);
      saved.textContent = "Rules saved.";
    } catch (error) {
      showError(box, error);  // a 400 names the field, e.g. rules[2].conditions.country
    }
  });
  page(`Rules of ${link.short_code}`,
       h("p", {}, h("a", { href: `#/links/${encodeURIComponent(code)}` }, "Back to the link")),
       form, previewForm(code));
}
