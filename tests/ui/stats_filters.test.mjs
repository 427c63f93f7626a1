import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const { filtersOf, withFilter, withoutFilter, toggled, describeFilter, DIMENSION_OF, apiQuery } =
  await import(new URL("stats_filters.js", UI));
const params = (query) => new URLSearchParams(query);

test("filters come from the URL, malformed ones left out", () => {
  const found = filtersOf(params("range=7d&filter=device:is:mobile&filter=city:is_not:Paris, FR:x"
    + "&filter=planet:is:mars&filter=country&filter=referrer:is:"));
  assert.deepEqual(found, [
    { dimension: "device", operator: "is", value: "mobile" },
    { dimension: "city", operator: "is_not", value: "Paris, FR:x" },
    { dimension: "referrer", operator: "is", value: "" },
  ]);
});

test("adding a filter keeps the rest of the URL, and replaces one on the same value", () => {
  let next = withFilter(params("range=30d&compare=0"), { dimension: "device", operator: "is", value: "mobile" });
  assert.equal(next.get("range"), "30d");
  assert.equal(next.get("compare"), "0");
  assert.deepEqual(next.getAll("filter"), ["device:is:mobile"]);
  next = withFilter(next, { dimension: "country", operator: "is", value: "DE" });
  next = withFilter(next, { dimension: "device", operator: "is_not", value: "mobile" });
  assert.deepEqual(next.getAll("filter"), ["country:is:DE", "device:is_not:mobile"]);
  // the URL round-trips: shareable
  assert.deepEqual(filtersOf(new URLSearchParams(next.toString())).length, 2);
});

test("removing and negating a filter", () => {
  const start = params("filter=device:is:mobile&filter=country:is:DE");
  assert.deepEqual(withoutFilter(start, 0).getAll("filter"), ["country:is:DE"]);
  assert.deepEqual(toggled(start, 1).getAll("filter"), ["device:is:mobile", "country:is_not:DE"]);
  assert.deepEqual(toggled(toggled(start, 1), 1).getAll("filter"), start.getAll("filter"));
});

test("a filter in words, and the API's query from the page's", () => {
  assert.equal(describeFilter({ dimension: "device", operator: "is", value: "mobile" }), "Device is Mobile");
  assert.equal(describeFilter({ dimension: "referrer", operator: "is_not", value: "" }),
               "Referrer is not (none)");
  assert.equal(describeFilter({ dimension: "variant", operator: "is", value: "link/b" }),
               "Variant is b (link's split)");
  assert.equal(DIMENSION_OF.browsers, "browser");
  assert.equal(DIMENSION_OF.links, undefined);  // a link's row opens its page instead
  assert.deepEqual(apiQuery(params("filter=device:is:mobile&filter=country:is:DE&range=7d")),
                   { filter: ["device:is:mobile", "country:is:DE"] });
});

test("counting bots is a visitor filter, dropped as a whole", async () => {
  const { withoutDimension, countsBots } = await import(new URL("stats_filters.js", UI));
  const start = params("filter=visitor:is:bot&filter=device:is:mobile&filter=visitor:is_not:human");
  assert.equal(countsBots(start), true);
  assert.equal(countsBots(params("filter=visitor:is_not:bot")), false);
  assert.deepEqual(withoutDimension(start, "visitor").getAll("filter"), ["device:is:mobile"]);
});
