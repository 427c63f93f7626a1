// A link's rules (issue 22) at #/links/<code>/rules: its options document edited with
// a form (rules with a widget per condition, A/B splits with their shares, schedule
// and click limit, a UTM builder showing the final URL, tags and folder) or as JSON,
// saved with one PATCH; a refusal marks the widget its field path names. "What would
// this visitor get" asks the server's own evaluator (POST /v1/urls/{code}/preview).

import { api } from "./api.js";
import { field, h } from "./dom.js";
import {
  documentToSend, editableOptions, problemsBeforeSending, splitSummary, widgetPath,
} from "./rule_editing.js";
import {
  Marks, rulesSection, scheduleSection, splitSection, tagsSection, utmSection, zoneList,
} from "./rule_widgets.js";
import { announce, errorBox, page, showError } from "./shell.js";

const DEVICES = ["", "desktop", "mobile", "tablet", "bot", "other"];
const SYSTEMS = ["", "ios", "android", "windows", "macos", "linux", "other"];
const BROWSERS = ["", "chrome", "firefox", "safari", "edge", "opera", "samsung", "other"];

function select(values) {
  return h("select", {}, ...values.map((v) => h("option", { value: v }, v || "(any)")));
}

function previewForm(code) {
  const country = h("input", { type: "text", maxlength: 2, autocomplete: "off" });
  const device = select(DEVICES);
  const os = select(SYSTEMS);
  const browser = select(BROWSERS);
  const language = h("input", { type: "text", placeholder: "de-DE,de;q=0.9", autocomplete: "off" });
  const at = h("input", { type: "datetime-local" });
  const answer = h("p", { role: "status", class: "preview-answer" });
  const box = errorBox();
  const title = h("h2", { id: "preview-title" }, "What would this visitor get?");
  const form = h("form", { class: "card", "aria-labelledby": title.id }, title,
    h("p", { class: "hint" }, "Asks the server about the saved rules."),
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
  const path = `/v1/urls/${encodeURIComponent(code)}`;
  let link = await api("GET", path);
  let doc = editableOptions(link);
  const expires = { value: link.expires_at };
  let marks = new Marks();

  const zones = zoneList();
  const structured = h("div", { class: "rule-editor" });
  const raw = h("textarea", { rows: 24, spellcheck: "false", class: "code" });
  const rawField = field("Link options (JSON)", raw,
    "Rules, variants, max_clicks, valid_from, fallbacks, utm, query_params, pass_query, tags and " +
    "folder, as in docs/link-rules.md. null or [] clears a field.");
  rawField.hidden = true;
  const asJson = () => !rawField.hidden;
  const jsonToggle = h("button", { type: "button", "aria-pressed": "false" }, "Edit as JSON");
  const summary = h("p", { class: "split-summary" });
  const saved = h("p", { role: "status", class: "saved" });
  const box = errorBox();

  // Redraws the form from `doc` (after a structural change), focusing `focus`.
  function draw(focus = null) {
    marks = new Marks();
    const ctx = { marks, changed: draw, zones: zones.id, ownRedirect: link.redirect_type };
    structured.replaceChildren(rulesSection(doc, ctx), splitSection(doc, ctx),
      scheduleSection(doc, ctx, expires), utmSection(doc, ctx, link.original_url), tagsSection(doc, ctx));
    summary.textContent = splitSummary(doc);
    if (focus) marks.focus(focus);
  }

  function refuse(message) {
    box.hidden = false;
    box.textContent = message;
  }

  jsonToggle.addEventListener("click", () => {
    box.hidden = true;
    marks.clear();
    if (!asJson()) {
      raw.value = JSON.stringify(documentToSend(doc), null, 2);
      rawField.hidden = false;
      structured.hidden = true;
      jsonToggle.setAttribute("aria-pressed", "true");
      raw.focus();
      return;
    }
    let parsed;
    try { parsed = JSON.parse(raw.value); } catch { refuse("This is not valid JSON."); return; }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      refuse("The options are one JSON object, as in docs/link-rules.md.");
      return;
    }
    const before = doc;
    try {
      doc = editableOptions({ ...doc, ...parsed });
      draw();
    } catch {
      doc = before;
      draw();
      refuse("The form can't show this document: fix it here, or save it as it is.");
      return;
    }
    rawField.hidden = true;
    structured.hidden = false;
    jsonToggle.setAttribute("aria-pressed", "false");
  });

  const form = h("form", { class: "rules-form", novalidate: true }, structured, rawField,
    h("div", { class: "card save-bar" }, summary, box, saved,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save rules"),
        jsonToggle)));
  form.addEventListener("input", () => { summary.textContent = splitSummary(doc); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    box.hidden = true;
    saved.textContent = "";
    marks.clear();
    let body;
    if (asJson()) {
      try { body = JSON.parse(raw.value); } catch { refuse("This is not valid JSON."); return; }
    } else {
      const problems = problemsBeforeSending(doc);
      if (problems.length) {
        for (const [at, message] of problems) marks.show(at, message);
        refuse(`Not saved: ${problems[0][1]}`);
        marks.focus(problems[0][0]);
        return;
      }
      body = documentToSend(doc);
      if (expires.value !== link.expires_at) body.expires_at = expires.value;
    }
    try {
      link = await api("PATCH", path, { body });
      doc = editableOptions(link);
      expires.value = link.expires_at;
      if (asJson()) raw.value = JSON.stringify(documentToSend(doc), null, 2);
      else draw();
      saved.textContent = "Rules saved.";
      announce("Rules saved");
    } catch (error) {
      showError(box, error);  // the message names the field, e.g. rules[2].conditions.country[0]
      const at = !asJson() && error.body?.field ? widgetPath(error.body.field, marks.paths()) : null;
      if (at) {
        marks.show(at, error.message);
        marks.focus(at);
      }
    }
  });

  page(`Rules of ${link.short_code}`,
       h("p", {}, h("a", { href: `#/links/${encodeURIComponent(code)}` }, "Back to the link")),
       zones, form, previewForm(code));
  draw();
}
