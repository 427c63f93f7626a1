import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const { rangeOf } = await import(new URL("ranges.js", UI));
const now = new Date("2030-05-10T12:34:00Z");
const params = (query) => new URLSearchParams(query);

test("presets end at the next whole hour and span their hours", () => {
  const { preset, from, to } = rangeOf(params("range=24h"), now);
  assert.equal(preset, "24h");
  assert.equal(to.toISOString(), "2030-05-10T13:00:00.000Z");
  assert.equal(from.toISOString(), "2030-05-09T13:00:00.000Z");
});

test("no range or an unknown one is the last 7 days", () => {
  for (const query of ["", "range=1y"]) {
    const { from, to } = rangeOf(params(query), now);
    assert.equal((to - from) / 3600e3, 24 * 7);
  }
  assert.equal(rangeOf(params(""), now).preset, "7d");
});

test("a custom range is widened to whole hours", () => {
  const { preset, from, to } = rangeOf(
    params("range=custom&from=2030-01-01T10:30:00Z&to=2030-01-01T12:15:00Z"), now);
  assert.equal(preset, "custom");
  assert.equal(from.toISOString(), "2030-01-01T10:00:00.000Z");
  assert.equal(to.toISOString(), "2030-01-01T13:00:00.000Z");
});

test("a custom range that is empty, backwards or unreadable falls back to 7 days", () => {
  for (const query of ["range=custom", "range=custom&from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z",
                       "range=custom&from=soon&to=later"]) {
    assert.equal(rangeOf(params(query), now).preset, "7d", query);
  }
});
