// The rules editor's widgets: each edits one part of the options document in place
// (rule_editing.js) and registers under that part's path, so a server error such as
// rules[2].conditions.country[0] marks the widget that shows it. A structural change
// (add, remove, move) calls ctx.changed(path): the editor redraws and focuses that path.

import { field, h, uid } from "./dom.js";
import { fromLocalInput, toLocalInput } from "./format.js";
import {
  CONDITIONS, DAYS, REDIRECT_TYPES, UTM_FIELDS, conditionOf, emptyCondition, emptyWindow,
  finalUrl, newRule, newSplit, newVariant, shares, splitList,
} from "./rule_editing.js";

const MAX_RULES = 50;
const MAX_VARIANTS = 10;
const MIN_VARIANTS = 2;
const FORM_CONTROLS = "input, select, textarea, button";

// Widgets by document path; marks what the server or the editor refused.
export class Marks {
  constructor() { this.widgets = new Map(); }

  add(path, control) { this.widgets.set(path, control); return control; }

  paths() { return [...this.widgets.keys()]; }

  clear() {
    for (const control of this.widgets.values()) {
      control.removeAttribute("aria-invalid");
      control.classList.remove("invalid");
      const notes = control.dataset.errorNotes;
      if (!notes) continue;
      const rest = (control.getAttribute("aria-describedby") || "").split(" ")
        .filter((id) => id && !notes.split(" ").includes(id));
      if (rest.length) control.setAttribute("aria-describedby", rest.join(" "));
      else control.removeAttribute("aria-describedby");
      for (const id of notes.split(" ")) document.getElementById(id)?.remove();
      delete control.dataset.errorNotes;
    }
  }

  // The widget at `path` says `message`: described by it, marked invalid. Null if none.
  show(path, message) {
    const control = this.widgets.get(path);
    if (!control) return null;
    const note = h("p", { class: "field-error", id: uid("error") }, message);
    if (control.matches(FORM_CONTROLS)) {
      control.after(note);
      control.setAttribute("aria-invalid", "true");
    } else {
      control.append(note);
      control.classList.add("invalid");
    }
    const described = control.getAttribute("aria-describedby");
    control.setAttribute("aria-describedby", described ? `${described} ${note.id}` : note.id);
    control.dataset.errorNotes = [control.dataset.errorNotes, note.id].filter(Boolean).join(" ");
    return control;
  }

  focus(path) {
    const widget = this.widgets.get(path);
    const control = widget?.matches(FORM_CONTROLS) ? widget : widget?.querySelector(FORM_CONTROLS);
    control?.focus();
    control?.scrollIntoView({ block: "center" });
  }
}

const smallButton = (text, onclick, label = null) =>
  h("button", { type: "button", class: "small", "aria-label": label, onclick }, text);

const textInput = (value, oninput, attrs = {}) => {
  const input = h("input", { type: "text", autocomplete: "off", spellcheck: "false",
                             value: value ?? "", ...attrs });
  input.addEventListener("input", () => oninput(input.value));
  return input;
};

function checkGroup(legend, choices, chosen, onchange, labels = {}) {
  const boxes = choices.map((choice) => h("input", { type: "checkbox", value: choice,
                                                     checked: chosen.includes(choice) }));
  const group = h("fieldset", { class: "check-group" }, h("legend", {}, legend),
    boxes.map((box, i) => h("label", { class: "check" }, box, labels[choices[i]] || choices[i])));
  group.addEventListener("change", () => onchange(boxes.filter((b) => b.checked).map((b) => b.value)));
  return group;
}

// -- conditions -------------------------------------------------------------------

function listWidget(conditions, condition, path, ctx) {
  const input = textInput((conditions[condition.key] || []).join(", "),
    (text) => { conditions[condition.key] = splitList(text, condition.upper); });
  return field(condition.label, ctx.marks.add(path, input), condition.hint);
}

function choicesWidget(conditions, condition, path, ctx) {
  return ctx.marks.add(path, checkGroup(condition.label, condition.choices,
    conditions[condition.key] || [], (values) => { conditions[condition.key] = values; }));
}

function queryWidget(conditions, condition, path, ctx) {
  const rows = conditions.query;
  return ctx.marks.add(path, h("fieldset", { class: "sub" }, h("legend", {}, "Query parameters"),
    h("p", { class: "hint" }, "Every one must hold; values are compared exactly (first value)."),
    rows.map((query, i) => {
      const here = `${path}[${i}]`;
      const param = textInput(query.param, (text) => { query.param = text.trim(); });
      const value = textInput(query.equals, (text) => { query.equals = text; },
                              { disabled: query.equals === undefined || query.equals === null });
      const test = h("select", {},
        h("option", { value: "present", selected: value.disabled }, "is present"),
        h("option", { value: "equals", selected: !value.disabled }, "equals"));
      test.addEventListener("change", () => {
        value.disabled = test.value !== "equals";
        if (value.disabled) delete query.equals; else query.equals = value.value;
      });
      return ctx.marks.add(here, h("div", { class: "row" },
        field(`Parameter ${i + 1}`, ctx.marks.add(`${here}.param`, param)),
        field(`Test of parameter ${i + 1}`, test),
        field(`Value of parameter ${i + 1}`, ctx.marks.add(`${here}.equals`, value)),
        rows.length > 1 ? smallButton("Remove", () => { rows.splice(i, 1); ctx.changed(path); },
                                      `Remove query parameter ${i + 1}`) : null));
    }),
    smallButton("Add parameter", () => {
      rows.push({ param: "" });
      ctx.changed(`${path}[${rows.length - 1}].param`);
    })));
}

function timeWidget(conditions, condition, path, ctx) {
  const time = conditions.time;
  const windows = (time.windows ||= []);
  const zone = textInput(time.time_zone || "UTC", (text) => { time.time_zone = text.trim(); },
                         { list: ctx.zones });
  const instant = (key, label) => {
    const input = h("input", { type: "datetime-local",
                               value: time[key] ? toLocalInput(new Date(time[key])) : "" });
    input.addEventListener("input", () => {
      if (input.value) time[key] = fromLocalInput(input.value); else delete time[key];
    });
    return field(label, ctx.marks.add(`${path}.${key}`, input), "Your local time; empty: open.");
  };
  const clock = (w, here, key, label, hint) => field(label,
    ctx.marks.add(`${here}.${key}`, textInput(w[key], (text) => { w[key] = text.trim(); },
      { inputmode: "numeric", placeholder: "09:00", maxlength: 5, class: "short" })), hint);
  return ctx.marks.add(path, h("fieldset", { class: "sub" }, h("legend", {}, "Time window"),
    field("Time zone", ctx.marks.add(`${path}.time_zone`, zone), "IANA name, e.g. Europe/Berlin or UTC."),
    h("div", { class: "row" }, instant("from", "From"), instant("until", "Until")),
    ctx.marks.add(`${path}.windows`, h("div", {}, windows.map((w, i) => {
      const here = `${path}.windows[${i}]`;
      return ctx.marks.add(here, h("fieldset", { class: "sub" }, h("legend", {}, `Hours ${i + 1}`),
        ctx.marks.add(`${here}.days`, checkGroup("Days", DAYS, w.days || DAYS,
                                                 (values) => { w.days = values; })),
        h("div", { class: "row" },
          clock(w, here, "start", "Starts", "HH:MM, in the time zone above."),
          clock(w, here, "end", "Ends", "HH:MM; 24:00 is midnight.")),
        smallButton("Remove", () => { windows.splice(i, 1); ctx.changed(`${path}.time_zone`); },
                    `Remove hours ${i + 1}`)));
    }))),
    smallButton("Add hours", () => {
      windows.push(emptyWindow());
      ctx.changed(`${path}.windows[${windows.length - 1}].start`);
    })));
}

const WIDGETS = { list: listWidget, choices: choicesWidget, query: queryWidget, time: timeWidget };

function conditionBlock(rule, key, base, ctx, number) {
  const condition = conditionOf(key);
  return h("div", { class: "condition" },
    WIDGETS[condition.widget](rule.conditions, condition, `${base}.${key}`, ctx),
    smallButton("Remove", () => { delete rule.conditions[key]; ctx.changed(base); },
                `Remove the ${condition.label.toLowerCase()} condition of rule ${number}`));
}

// -- variants ---------------------------------------------------------------------

// A weighted set of 2-10 targets, each row with its share, the total said live.
export function variantSet(variants, path, ctx, owner) {
  const sharesShown = [];
  const total = h("p", { class: "split-total", "aria-live": "polite" });
  const update = () => {
    const got = shares(variants);
    sharesShown.forEach((el, i) => { el.textContent = got ? `${got[i]} %` : "—"; });
    const sum = variants.reduce((a, v) => a + (Number.isFinite(v.weight) ? v.weight : 0), 0);
    total.textContent = got
      ? `Shares of ${owner}: ${variants.map((v, i) => `${v.id || "?"} ${got[i]} %`).join(", ")} (weights ${sum} in all).`
      : sum <= 0 ? "The weights add up to 0: give each variant a weight of 1 or more."
        : "Each weight must be a whole number from 1 to 10000.";
    total.classList.toggle("bad", !got);
  };
  const rows = variants.map((variant, i) => {
    const here = `${path}[${i}]`;
    const share = h("span", { class: "share-of", id: uid("share") });
    sharesShown.push(share);
    const weight = h("input", { type: "number", min: 1, max: 10000, step: 1, value: variant.weight,
                                class: "short", "aria-describedby": share.id });
    weight.addEventListener("input", () => {
      variant.weight = weight.value === "" ? Number.NaN : Number(weight.value);
      update();
    });
    return h("fieldset", { class: "sub" }, h("legend", {}, `Variant ${i + 1}`),
      h("div", { class: "row" },
        field("Id", ctx.marks.add(`${here}.id`,
          textInput(variant.id, (text) => { variant.id = text.trim(); update(); },
                    { maxlength: 40, class: "short" }))),
        field("Target URL", ctx.marks.add(`${here}.target`,
          textInput(variant.target, (text) => { variant.target = text.trim(); },
                    { type: "url", placeholder: "https://…" }))),
        h("div", { class: "field" }, h("label", { for: (weight.id = uid("f")) }, "Weight"),
          h("span", { class: "weight" }, ctx.marks.add(`${here}.weight`, weight), share))),
      variants.length > MIN_VARIANTS
        ? smallButton("Remove", () => { variants.splice(i, 1); ctx.changed(`${path}[0].weight`); },
                      `Remove variant ${i + 1} of ${owner}`) : null);
  });
  update();
  return ctx.marks.add(path, h("div", { class: "variants" }, rows, total,
    h("button", { type: "button", class: "small", disabled: variants.length >= MAX_VARIANTS,
                  onclick: () => {
                    variants.push(newVariant(variants));
                    ctx.changed(`${path}[${variants.length - 1}].target`);
                  } }, "Add variant")));
}

// -- rules ------------------------------------------------------------------------

function redirectSelect(action, ownType) {
  const select = h("select", {},
    h("option", { value: "", selected: !action.redirect_type }, `The link's own (${ownType})`),
    REDIRECT_TYPES.map((t) => h("option", { value: t, selected: action.redirect_type === t }, String(t))));
  select.addEventListener("change", () => { action.redirect_type = select.value ? Number(select.value) : null; });
  return select;
}

function actionBlock(rule, base, ctx, number) {
  const action = rule.action;
  const split = Array.isArray(action.variants);
  const name = uid("action");
  const choice = (value, text, checked, onchange) => h("label", { class: "check" },
    h("input", { type: "radio", name, value, checked, onchange }), text);
  return h("fieldset", { class: "sub" }, h("legend", {}, `Then (rule ${number})`),
    h("div", { class: "check-group" },
      choice("target", "Send to one URL", !split, () => {
        delete action.variants;
        action.target = "";
        ctx.changed(`${base}.action.target`);
      }),
      choice("variants", "Split between variants", split, () => {
        delete action.target;
        action.variants = newSplit();
        ctx.changed(`${base}.action.variants[0].target`);
      })),
    split ? variantSet(action.variants, `${base}.action.variants`, ctx, `rule ${number}`)
      : field("Target URL", ctx.marks.add(`${base}.action.target`,
          textInput(action.target, (text) => { action.target = text.trim(); },
                    { type: "url", placeholder: "https://…" }))),
    field("Redirect type", ctx.marks.add(`${base}.action.redirect_type`,
      redirectSelect(action, ctx.ownRedirect))));
}

function ruleBlock(rules, i, ctx) {
  const rule = rules[i];
  const base = `rules[${i}]`;
  const number = i + 1;
  rule.conditions ||= {};
  rule.action ||= { target: "" };
  const present = CONDITIONS.filter((c) => c.key in rule.conditions);
  const addable = CONDITIONS.filter((c) => !(c.key in rule.conditions));
  const adding = h("select", {}, addable.map((c) => h("option", { value: c.key }, c.label)));
  const move = (to) => {
    [rules[i], rules[to]] = [rules[to], rules[i]];
    ctx.changed(`rules[${to}].id`);
  };
  return ctx.marks.add(base, h("fieldset", { class: "rule" }, h("legend", {}, `Rule ${number}`),
    field("Rule id", ctx.marks.add(`${base}.id`, textInput(rule.id, (text) => { rule.id = text.trim(); },
      { maxlength: 40, class: "short" })), "a-z, 0-9, - and _; clicks are counted by it."),
    h("h3", {}, "When all of these hold"),
    present.length ? present.map((c) => conditionBlock(rule, c.key, `${base}.conditions`, ctx, number))
      : h("p", { class: "hint" }, "No condition yet: add one."),
    addable.length ? h("div", { class: "row add-row" },
      field(`Add a condition to rule ${number}`, ctx.marks.add(`${base}.conditions`, adding)),
      h("button", { type: "button", class: "add-condition", onclick: () => {
        rule.conditions[adding.value] = emptyCondition(adding.value);
        ctx.changed(`${base}.conditions.${adding.value}`);
      } }, "Add condition")) : null,
    actionBlock(rule, base, ctx, number),
    h("div", { class: "row" },
      h("button", { type: "button", class: "small", disabled: i === 0, onclick: () => move(i - 1),
                    "aria-label": `Move rule ${number} up` }, "Move up"),
      h("button", { type: "button", class: "small", disabled: i === rules.length - 1,
                    onclick: () => move(i + 1), "aria-label": `Move rule ${number} down` }, "Move down"),
      smallButton("Remove rule", () => { rules.splice(i, 1); ctx.changed("add-rule"); },
                  `Remove rule ${number}`))));
}

// -- the editor's sections ----------------------------------------------------------

function section(title, ...content) {
  const heading = h("h2", { id: uid("section") }, title);
  return h("section", { class: "card", "aria-labelledby": heading.id }, heading, ...content);
}

export function rulesSection(doc, ctx) {
  return section("Rules",
    h("p", { class: "hint" }, "Checked in order: the first rule whose conditions all hold sends " +
      "the visitor to its target or split. When none does, the A/B split below, else the link's own target."),
    doc.rules.map((_, i) => ruleBlock(doc.rules, i, ctx)),
    ctx.marks.add("add-rule", h("button", { type: "button", disabled: doc.rules.length >= MAX_RULES,
      onclick: () => {
        doc.rules.push(newRule(doc.rules));
        ctx.changed(`rules[${doc.rules.length - 1}].conditions.country`);
      } }, "Add rule")));
}

export function splitSection(doc, ctx) {
  if (!doc.variants.length) {
    return section("A/B split",
      h("p", {}, "No split: visitors no rule matches go to the link's own target."),
      ctx.marks.add("variants", h("button", { type: "button", onclick: () => {
        doc.variants = newSplit();
        ctx.changed("variants[0].target");
      } }, "Add an A/B split")));
  }
  return section("A/B split",
    h("p", { class: "hint" }, "For visitors no rule matches. Each keeps their variant (no cookie " +
      "needed); weights are relative: 3 and 1 send 75 % and 25 %."),
    variantSet(doc.variants, "variants", ctx, "the link's split"),
    h("p", {}, smallButton("Remove the split", () => { doc.variants = []; ctx.changed("variants"); })));
}

const localValue = (iso) => iso ? toLocalInput(new Date(iso)) : "";

export function scheduleSection(doc, ctx, expires) {
  const validFrom = h("input", { type: "datetime-local", value: localValue(doc.valid_from) });
  validFrom.addEventListener("input", () => { doc.valid_from = fromLocalInput(validFrom.value); });
  const expiry = h("input", { type: "datetime-local", value: localValue(expires.value) });
  expiry.addEventListener("input", () => { expires.value = fromLocalInput(expiry.value); });
  const limit = h("input", { type: "number", min: 1, step: 1, class: "short", value: doc.max_clicks ?? "" });
  limit.addEventListener("input", () => { doc.max_clicks = limit.value === "" ? null : Number(limit.value); });
  const fallback = (key, label, hint) => field(label, ctx.marks.add(`fallbacks.${key}`,
    textInput(doc.fallbacks[key], (text) => { doc.fallbacks[key] = text.trim() || null; },
              { type: "url", placeholder: "https://…" })), hint);
  return section("Schedule and click limit",
    h("div", { class: "row" },
      field("Valid from", ctx.marks.add("valid_from", validFrom), "Your local time. Empty: now."),
      field("Expires", ctx.marks.add("expires_at", expiry), "Your local time. Empty: never.")),
    field("Click limit", ctx.marks.add("max_clicks", limit),
          "Human clicks served, counted exactly; bots, previews and HEAD don't count. Empty: no limit."),
    fallback("not_yet", "Before it is valid, send visitors to", "Empty: a “not found” page."),
    fallback("expired", "Once it has expired, send visitors to", "Empty: an “expired” page."),
    fallback("exhausted", "Once its clicks are used up, send visitors to", "Empty: a “used up” page."));
}

export function utmSection(doc, ctx, target) {
  const final = h("output", { class: "final-url code" });
  const update = () => { final.textContent = finalUrl(target, doc); };
  const rows = Object.entries(doc.query_params).map(([key, value]) => ({ key, value }));
  const sync = () => {
    doc.query_params = Object.fromEntries(rows.filter((r) => r.key.trim()).map((r) => [r.key.trim(), r.value]));
    update();
  };
  const list = h("div", {});
  const paramRow = (row) => {
    const n = list.children.length + 1;
    const line = h("div", { class: "row" },
      field(`Name of parameter ${n}`, textInput(row.key, (text) => { row.key = text; sync(); })),
      field(`Value of parameter ${n}`, textInput(row.value, (text) => { row.value = text; sync(); })),
      smallButton("Remove", () => { rows.splice(rows.indexOf(row), 1); line.remove(); sync(); },
                  `Remove parameter ${n}`));
    return line;
  };
  for (const row of rows) list.append(paramRow(row));
  const pass = h("input", { type: "checkbox", id: uid("f"), checked: doc.pass_query });
  pass.addEventListener("change", () => { doc.pass_query = pass.checked; });
  update();
  return section("UTM and query parameters",
    h("div", { class: "utm" }, UTM_FIELDS.map((name) => field(`${name[0].toUpperCase()}${name.slice(1)} (utm_${name})`,
      ctx.marks.add(`utm.${name}`, textInput(doc.utm[name], (text) => { doc.utm[name] = text; update(); }))))),
    ctx.marks.add("query_params", h("fieldset", { class: "sub" }, h("legend", {}, "Other parameters"),
      list, smallButton("Add parameter", () => {
        const row = { key: "", value: "" };
        rows.push(row);
        const line = paramRow(row);
        list.append(line);
        line.querySelector("input").focus();
      }))),
    h("div", { class: "check" }, pass, h("label", { for: pass.id }, "Pass the visitor's own query string through")),
    field("Final URL (the link's own target)", final,
          "Every redirect target gets these; keys a target already has keep its value, and a " +
          "visitor's own parameters never replace the link's."));
}

export function tagsSection(doc, ctx) {
  const tags = textInput(doc.tags.join(", "), (text) => { doc.tags = splitList(text); });
  const folder = textInput(doc.folder, (text) => { doc.folder = text; }, { placeholder: "marketing/2026" });
  return section("Tags and folder",
    h("div", { class: "row" },
      field("Tags", ctx.marks.add("tags", tags), "Comma-separated, up to 20: spring, email."),
      field("Folder", ctx.marks.add("folder", folder), "One per link; / nests: marketing/2026.")));
}

// The IANA zones this browser knows, offered while typing a rule's time zone.
export function zoneList() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return h("datalist", { id: uid("zones") }, zones.map((zone) => h("option", { value: zone })));
}
