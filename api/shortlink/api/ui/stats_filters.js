// A stats page's filters (issue 23), kept in the page's URL so a filtered view can be
// shared: filter=<dimension>:<is|is_not>:<value>, repeated, as the API takes them.
// Pure functions (no DOM), unit-tested with node --test.

import { breakdownLabel } from "./format.js";

export const DIMENSIONS = { country: "Country", city: "City", device: "Device",
  os: "Operating system", browser: "Browser", referrer: "Referrer", tag: "Tag", rule: "Rule",
  variant: "Variant", visitor: "Visitor" };
// A breakdown table (the API's plural key) → the dimension its rows filter on.
export const DIMENSION_OF = { countries: "country", cities: "city", devices: "device",
  os: "os", browsers: "browser", referrers: "referrer", rules: "rule", variants: "variant",
  tags: "tag" };
const KEY_OF = Object.fromEntries(Object.entries(DIMENSION_OF).map(([k, d]) => [d, k]));
const OPERATORS = ["is", "is_not"];

const format = (f) => `${f.dimension}:${f.operator}:${f.value}`;

function parse(raw) {
  const first = raw.indexOf(":"), second = raw.indexOf(":", first + 1);
  if (first < 0 || second < 0) return null;
  const filter = { dimension: raw.slice(0, first), operator: raw.slice(first + 1, second),
                   value: raw.slice(second + 1) };
  return filter.dimension in DIMENSIONS && OPERATORS.includes(filter.operator) ? filter : null;
}

export function filtersOf(params) {
  return params.getAll("filter").map(parse).filter(Boolean);
}

function withFilters(params, filters) {
  const next = new URLSearchParams(params);
  next.delete("filter");
  for (const f of filters) next.append("filter", format(f));
  return next;
}

// Adds ``filter``; one on the same dimension and value is replaced (is ↔ is not).
export function withFilter(params, filter) {
  const others = filtersOf(params).filter((f) =>
    !(f.dimension === filter.dimension && f.value === filter.value));
  return withFilters(params, [...others, filter]);
}

export function withoutFilter(params, index) {
  return withFilters(params, filtersOf(params).filter((_, i) => i !== index));
}

export function toggled(params, index) {
  return withFilters(params, filtersOf(params).map((f, i) => i !== index ? f
    : { ...f, operator: f.operator === "is" ? "is_not" : "is" }));
}

export function describeFilter(f) {
  const value = f.dimension === "visitor" ? (f.value === "bot" ? "Bot" : "Human")
    : breakdownLabel(KEY_OF[f.dimension], f.value);
  return `${DIMENSIONS[f.dimension]} ${f.operator === "is" ? "is" : "is not"} ${value}`;
}

// The API's query parameters for the page's filters.
export function apiQuery(params) {
  return { filter: filtersOf(params).map(format) };
}

export function withoutDimension(params, dimension) {
  return withFilters(params, filtersOf(params).filter((f) => f.dimension !== dimension));
}

// Whether the page counts bots instead of people (visitor:is:bot, or is_not:human).
export function countsBots(params) {
  return filtersOf(params).some((f) => f.dimension === "visitor"
    && (f.operator === "is") === (f.value === "bot"));
}
