import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const { describe } = await import(new URL("api.js", UI));

test("API errors read as sentences, never raw JSON", () => {
  assert.equal(describe(0, null), "Can't reach the server. Check your connection and try again.");
  assert.equal(describe(400, { error: "INVALID_URL", message: "URL must be http(s)" }),
    "URL must be http(s).");
  assert.equal(describe(429, { error: "RATE_LIMIT_EXCEEDED", retry_after: 7 }),
    "Too many requests. Try again in 7 seconds.");
  assert.equal(describe(409, { error: "ALIAS_TAKEN", message: "The alias 'x' is already taken" }),
    "The alias 'x' is already taken. Pick one of the suggestions or another alias.");
  assert.equal(describe(502, null), "Something went wrong on our side. Try again shortly.");
  assert.equal(describe(418, {}), "The request failed (HTTP 418).");
});
