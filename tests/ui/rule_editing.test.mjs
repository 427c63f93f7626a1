import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const {
  appendParams, documentToSend, editableOptions, finalUrl, newRule, problemsBeforeSending,
  newSplit, newVariant, shares, splitList, splitSummary, widgetPath,
} = await import(new URL("rule_editing.js", UI));

const LINK = {
  original_url: "https://example.com/app", rules: [], variants: [], max_clicks: null,
  valid_from: null, fallbacks: { not_yet: null, expired: null, exhausted: null }, utm: {},
  query_params: {}, pass_query: false, tags: [], folder: null,
};

test("the final URL follows the server's merge rule (outputs of query_merge.append_params)", () => {
  assert.equal(appendParams("https://example.com/p",
    [["utm_source", "news letter"], ["utm_medium", "email"], ["ref", "a/b"]]),
  "https://example.com/p?utm_source=news%20letter&utm_medium=email&ref=a%2Fb");
  // The target's own keys win, later repeats are dropped, the fragment stays last.
  assert.equal(appendParams("https://example.com/p?utm_source=site&x=1#top",
    [["utm_source", "nl"], ["utm_campaign", "spring sale!"], ["x", "2"], ["y", "é"]]),
  "https://example.com/p?utm_source=site&x=1&utm_campaign=spring%20sale%21&y=%C3%A9#top");
  assert.equal(appendParams("https://example.com/p?a=1", []), "https://example.com/p?a=1");
  assert.equal(appendParams("https://example.com/p", [["unlock_token", "t"], ["k", "it's(*)~"]]),
    "https://example.com/p?k=it%27s%28%2A%29~");
});

test("UTM fields come first, in their order, then the other parameters", () => {
  const doc = { ...editableOptions(LINK), utm: { campaign: "spring", source: "nl", term: "" },
                query_params: { ref: "sl" } };
  assert.equal(finalUrl("https://example.com/", doc),
    "https://example.com/?utm_source=nl&utm_campaign=spring&ref=sl");
});

test("shares are percentages of the total weight; a weight below 1 has none", () => {
  assert.deepEqual(shares([{ weight: 3 }, { weight: 1 }]), [75, 25]);
  assert.deepEqual(shares([{ weight: 1 }, { weight: 1 }, { weight: 1 }]), [33.3, 33.3, 33.3]);
  assert.equal(shares([{ weight: 0 }, { weight: 0 }]), null);
  assert.equal(shares([{ weight: 2 }, { weight: Number.NaN }]), null);
});

test("a split summing to 0, a fractional weight, a lone variant or an empty condition is refused before sending", () => {
  const doc = editableOptions(LINK);
  doc.variants = [{ id: "a", target: "https://e.x/a", weight: 0 }, { id: "b", target: "https://e.x/b", weight: 0 }];
  doc.rules = [{ id: "r", conditions: { country: ["GB"] },
                 action: { variants: [{ id: "a", target: "https://e.x/c", weight: 1.5 }] } }];
  assert.deepEqual(problemsBeforeSending(doc).map(([path]) => path), [
    "variants[0].weight", "variants[1].weight", "variants",
    "rules[0].action.variants", "rules[0].action.variants[0].weight"]);
  doc.variants = newSplit();
  doc.rules = [];
  assert.deepEqual(problemsBeforeSending(doc), []);
  doc.rules = [{ id: "r", conditions: { country: [], device: ["mobile"] }, action: { target: "" } }];
  assert.deepEqual(problemsBeforeSending(doc),
    [["rules[0].conditions.country", "Give at least one value, or remove this condition."]]);
  assert.equal(splitSummary(doc), "Default split: a 50 %, b 50 %.");
});

test("new rules and variants take free ids", () => {
  assert.equal(newRule([{ id: "rule-1" }]).id, "rule-2");
  assert.equal(newRule([{ id: "uk" }]).id, "rule-2");
  assert.equal(newRule([{ id: "rule-2" }]).id, "rule-3");
  assert.equal(newVariant([{ id: "a" }, { id: "c" }]).id, "b");
});

test("lists are typed comma-separated; countries in capitals", () => {
  assert.deepEqual(splitList(" gb, ie ,,", true), ["GB", "IE"]);
  assert.deepEqual(splitList("Berlin,  Paris "), ["Berlin", "Paris"]);
  assert.deepEqual(splitList(""), []);
});

test("blank optional texts are sent as not set; an empty condition is sent for the server to name", () => {
  const doc = editableOptions(LINK);
  doc.utm = { source: "nl", medium: "" };
  doc.fallbacks.expired = "";
  doc.folder = "  ";
  doc.max_clicks = "";
  doc.rules = [{ id: "r", conditions: { country: [] }, action: { target: "", redirect_type: null } }];
  const sent = documentToSend(doc);
  assert.deepEqual(sent.utm, { source: "nl" });
  assert.equal(sent.fallbacks.expired, null);
  assert.equal(sent.folder, null);
  assert.equal(sent.max_clicks, null);
  assert.deepEqual(sent.rules[0].conditions, { country: [] });
  assert.equal(doc.utm.medium, "", "the edited document is left as it was");
});

test("a server error's field finds the widget that shows it", () => {
  const known = ["rules[0].conditions.country", "rules[1].conditions.country", "rules[1]",
                 "rules[1].conditions.time.windows[0]", "rules[1].conditions.time.windows[0].start",
                 "variants", "variants[1].weight", "utm.source"];
  assert.equal(widgetPath("rules[1].conditions.country[0]", known), "rules[1].conditions.country");
  assert.equal(widgetPath("rules[1].conditions.time.windows[0].start", known),
    "rules[1].conditions.time.windows[0].start");
  assert.equal(widgetPath("rules[1].conditions.time.windows[0].days[2]", known),
    "rules[1].conditions.time.windows[0]");
  assert.equal(widgetPath("rules[1].action", known), "rules[1]");
  assert.equal(widgetPath("variants[1].weight", known), "variants[1].weight");
  assert.equal(widgetPath("variants", known), "variants");
  assert.equal(widgetPath("utm.sourcery", known), null);
  assert.equal(widgetPath("max_clicks", known), null);
});
