import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const { breakdownLabel, formatDate, fromLocalInput, linkStatus, plural, sharePercent, toLocalInput } =
  await import(new URL("format.js", UI));

test("a date-time input's local wall time round-trips through an instant", () => {
  const local = "2031-06-30T18:05";
  assert.equal(toLocalInput(new Date(fromLocalInput(local))), local);
  assert.equal(fromLocalInput(""), null);
});

test("formatDate shows a dash for no date", () => {
  assert.equal(formatDate(null), "—");
  assert.match(formatDate("2031-06-30T18:05:00Z"), /2031/);
});

test("linkStatus: deactivated over expired over active, and a password label", () => {
  const now = new Date("2030-01-01T00:00:00Z");
  const link = { is_active: true, expires_at: null, password_protected: false };
  assert.deepEqual(linkStatus(link, now), ["active"]);
  assert.deepEqual(linkStatus({ ...link, expires_at: "2029-12-31T00:00:00Z" }, now), ["expired"]);
  assert.deepEqual(linkStatus({ ...link, expires_at: "2030-01-02T00:00:00Z" }, now), ["active"]);
  assert.deepEqual(linkStatus({ ...link, is_active: false, expires_at: "2029-01-01T00:00:00Z" }, now),
    ["deactivated"]);
  assert.deepEqual(linkStatus({ ...link, password_protected: true }, now), ["active", "password"]);
  assert.deepEqual(linkStatus({ ...link, managed_by: "kubernetes" }, now), ["active", "kubernetes"]);
});

test("device types are capitalised; OS and browser families keep their makers' spelling", () => {
  assert.equal(breakdownLabel("devices", "desktop"), "Desktop");
  assert.equal(breakdownLabel("devices", "mobile"), "Mobile");
  assert.equal(breakdownLabel("devices", "smart-tv"), "Smart-tv");
  assert.equal(breakdownLabel("os", "iOS"), "iOS");
  assert.equal(breakdownLabel("os", "Mac OS X"), "Mac OS X");
  assert.equal(breakdownLabel("referrers", ""), "(none)");
});

test("an A/B variant says whose split it is; rule ids and tags stay as written", () => {
  assert.equal(breakdownLabel("variants", "link/a"), "a (link's split)");
  assert.equal(breakdownLabel("variants", "ios-de/b"), "b (rule ios-de)");
  assert.equal(breakdownLabel("rules", "uk"), "uk");
  assert.equal(breakdownLabel("tags", "spring"), "spring");
});

test("a share is a whole percent, and a few clicks among many are not 0 %", () => {
  assert.equal(sharePercent(3, 5), "60%");
  assert.equal(sharePercent(1, 3), "33%");
  assert.equal(sharePercent(1, 1000), "<1%");
  assert.equal(sharePercent(5, 1000), "1%");
  assert.equal(sharePercent(0, 10), "0%");
  assert.equal(sharePercent(0, 0), "0%");
});

test("plural: one is singular, everything else plural", () => {
  assert.equal(plural(1, "API key"), "1 API key");
  assert.equal(plural(0, "API key"), "0 API keys");
  assert.equal(plural(2, "API key"), "2 API keys");
  assert.equal(plural(1200, "click"), "1,200 clicks");
  assert.equal(plural(3, "city", "cities"), "3 cities");
});

test("a sparkline spans the box, scaled to the largest count", async () => {
  const { sparklinePoints } = await import(new URL("format.js", UI));
  assert.equal(sparklinePoints([0, 5, 10], 20, 10, 0), "0,10 10,5 20,0");
  assert.equal(sparklinePoints([0, 0, 0], 20, 10, 1), "1,9 10,9 19,9");
  assert.equal(sparklinePoints([3], 20, 10, 1), "1,1");
});
