// A link's statistics, or all the workspace's links' together (the dashboard, #/stats):
// range presets and a custom range, day or hour buckets (starting in the browser's
// timezone), the time series with the previous period beside it, totals, a world map
// with its table, the other breakdowns, the last 30 minutes, CSV export and refresh.
// A breakdown's row filters the page by its value; the filters live in the page's URL
// (shareable). Every chart has a table with the same numbers for people who don't see it.

import { api } from "./api.js";
import { toCsv } from "./csv.js";
import { download, field, h, loadOnce, svg, table, uid } from "./dom.js";
import { breakdownLabel, fromLocalInput, sharePercent, toLocalInput } from "./format.js";
import { PRESETS, rangeOf } from "./ranges.js";
import { DIMENSION_OF, apiQuery, countsBots, describeFilter, filtersOf, toggled, withFilter,
         withoutDimension, withoutFilter } from "./stats_filters.js";
import { announce, errorBox, page, showError } from "./shell.js";

const BREAKDOWNS = [["cities", "Cities"], ["devices", "Devices"], ["os", "Operating systems"],
                    ["browsers", "Browsers"], ["referrers", "Referrers"]];
// Which rule, A/B variant and tag served the clicks (issue 22): shown for a link that
// has rules, a split or tags, or whose clicks in the range had them.
const OPTION_BREAKDOWNS = [["rules", "Rules"], ["variants", "A/B variants"], ["tags", "Tags"]];
const BREAKDOWN_COLUMN = { countries: "Country", cities: "City", devices: "Device",
                           os: "Operating system", browsers: "Browser", referrers: "Referrer",
                           rules: "Rule", variants: "Variant", tags: "Tag", links: "Link" };
// Some clicks, but none of them told this (the whole range empty has its own card).
const EMPTY_BREAKDOWN = {
  countries: "No country known for these clicks.", cities: "No city known for these clicks.",
  devices: "No device known for these clicks.", os: "No operating system known for these clicks.",
  browsers: "No browser known for these clicks.",
  referrers: "No referrers: every click came direct (typed, or from an app or an email).",
  rules: "No rule matched these clicks: each went to the link's own target or split.",
  variants: "No click in this range went through an A/B split.",
  tags: "No clicks of this link while it had tags.",
  links: "No link had clicks in this range.",
};
const hasSplit = (link) => link.variants.length > 0 || link.rules.some((r) => r.action.variants);
const OPTION_IN_USE = { rules: (link) => link.rules.length > 0, variants: hasSplit,
                        tags: (link) => link.tags.length > 0 };
let regionNames = null;  // made when first needed: building it costs a long task
const countryName = (code) => {
  regionNames ||= new Intl.DisplayNames(["en"], { type: "region" });
  try { return regionNames.of(code); } catch { return code; }
};

const chartLibrary = () => Promise.all([loadOnce("/ui/vendor/uPlot.iife.min.js"),
                                        loadOnce("/ui/vendor/uPlot.min.css")]);

let atlas = null;  // world-atlas countries + ISO alpha-2 → numeric, fetched once
async function loadAtlas() {
  if (!atlas) {
    const [world, codes] = await Promise.all([
      fetch("/ui/vendor/countries-110m.json").then((r) => r.json()),
      fetch("/ui/vendor/iso-country-codes.json").then((r) => r.json()),
      loadOnce("/ui/vendor/topojson-client.min.js")]);
    atlas = { features: topojson.feature(world, world.objects.countries).features,
              numericOf: new Map(codes.map(([alpha2, , numeric]) => [alpha2, numeric])) };
  }
  return atlas;
}

const timezone = () => {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch { return "UTC"; }
};

// ``code``: one link's stats; null: every link of the workspace (the dashboard).
export async function statsView(code, params) {
  const range = rangeOf(params);
  const interval = params.get("interval") || (range.preset === "24h" ? "hour" : "day");
  const compare = params.get("compare") !== "0";
  const base = code ? `#/links/${encodeURIComponent(code)}/stats` : "#/stats";
  const filters = filtersOf(params);

  const goTo = (next) => { location.hash = `${base}?${next}`; };
  const go = (changes) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) { if (v === null) next.delete(k); else next.set(k, v); }
    goTo(next);
  };
  const filterBy = (filter) => goTo(withFilter(params, filter));

  const presets = h("fieldset", { class: "presets" }, h("legend", {}, "Range"),
    PRESETS.map(([id, label]) => h("label", { class: "preset" },
      h("input", { type: "radio", name: "range", value: id, checked: id === range.preset,
        onchange: () => id === "custom" ? customBox.hidden = false
          : go({ range: id, from: null, to: null, interval: id === "24h" ? "hour" : "day" }) }),
      label)));
  const fromInput = h("input", { type: "datetime-local", name: "from", value: toLocalInput(range.from) });
  const toInput = h("input", { type: "datetime-local", name: "to", value: toLocalInput(range.to) });
  const customBox = h("form", { class: "custom-range", hidden: range.preset !== "custom",
    onsubmit: (e) => { e.preventDefault();
      go({ range: "custom", from: fromLocalInput(fromInput.value), to: fromLocalInput(toInput.value) }); } },
    field("From", fromInput), field("To", toInput),
    h("button", { type: "submit" }, "Apply range"));
  const intervalSelect = h("select", { name: "interval", onchange: (e) => go({ interval: e.target.value }) },
    h("option", { value: "day", selected: interval === "day" }, "Per day"),
    h("option", { value: "hour", selected: interval === "hour" }, "Per hour"));
  const compareBox = h("input", { type: "checkbox", id: "f-compare", checked: compare,
    onchange: (e) => go({ compare: e.target.checked ? "1" : "0" }) });
  // Bots instead of people: a visitor filter, in the URL like the others.
  const botsBox = h("input", { type: "checkbox", id: "f-bots", checked: countsBots(params),
    onchange: (e) => goTo(e.target.checked
      ? withFilter(withoutDimension(params, "visitor"), { dimension: "visitor", operator: "is", value: "bot" })
      : withoutDimension(params, "visitor")) });
  const path = code ? `/v1/urls/${encodeURIComponent(code)}/stats` : "/v1/stats";
  const zone = timezone();
  const query = (from, to) => ({ from: from.toISOString(), to: to.toISOString(), interval,
                                 timezone: zone, ...apiQuery(params) });
  const fetchStats = () => Promise.all([
    api("GET", path, { query: query(range.from, range.to) }),
    compare ? api("GET", path, { query: query(new Date(range.from - (range.to - range.from)), range.from) })
      : null,
    chartLibrary()]);
  const atlasReady = loadAtlas().catch(() => null);  // the map comes after the numbers
  // Asked before anything is drawn (and quicker than the stats): a link that isn't
  // yours, or is gone, shows the API's "No link with code …" alone.
  const link = code ? await api("GET", `/v1/urls/${encodeURIComponent(code)}`) : null;

  const problem = errorBox();
  const body = h("div", { class: "stats-body", "aria-busy": "true" });
  const refresh = h("button", { type: "button", onclick: () => load() }, "Refresh");
  const exportButton = h("button", { type: "button", disabled: true }, "Export CSV");

  const live = realtimePanel(code ? `${path}/realtime` : "/v1/stats/realtime", apiQuery(params));

  page(code ? `Statistics for ${code}` : "All links",
    code ? h("p", {}, h("a", { href: `#/links/${encodeURIComponent(code)}` }, `← Back to ${code}`))
      : h("p", {}, "The clicks of every link of this workspace together."),
    h("section", { class: "card controls", "aria-label": "Range and options" },
      presets, customBox,
      h("div", { class: "row" }, field("Interval", intervalSelect),
        h("div", { class: "check" }, compareBox, h("label", { for: "f-compare" }, "Compare to the previous period")),
        h("div", { class: "check" }, botsBox, h("label", { for: "f-bots" }, "Count bots instead of people")),
        refresh, exportButton),
      filterBar(filters, params, goTo)),
    problem, live.section, body);

  async function load() {
    problem.hidden = true;
    body.setAttribute("aria-busy", "true");
    live.load();
    try {
      render(await fetchStats());
    } catch (error) {
      showError(problem, error);
    } finally {
      body.setAttribute("aria-busy", "false");
    }
  }

  function render([current, previous]) {
    const rowsOf = { filterBy, linkParams: params };
    if (!current.totals.clicks && !current.totals.bot_clicks) {
      body.replaceChildren(totals(current.totals, previous?.totals), emptyState(code, range, filters));
    } else {
      // replaceChildren would write an absent part (null) as the text "null".
      body.replaceChildren(...[
        totals(current.totals, previous?.totals),
        seriesSection(current, previous, interval),
        code ? null : breakdownSection("links", "Top links", current.links, current.totals.clicks, rowsOf),
        countriesSection(current.countries, current.totals.clicks, atlasReady, rowsOf),
        h("div", { class: "grid" }, BREAKDOWNS.map(([key, title]) =>
          breakdownSection(key, title, current[key], current.totals.clicks, rowsOf))),
        optionSections(link, current, rowsOf)].filter(Boolean));
    }
    exportButton.disabled = false;
    exportButton.onclick = () => exportCsv(code || "all-links", current, previous);
    announce(`Statistics loaded: ${current.totals.clicks} clicks`);
  }
  await load();
}

function emptyState(code, range, filters) {
  if (filters.length || !code) {
    return h("section", { class: "card empty-state" },
      h("h2", {}, "No clicks in this range"),
      h("p", {}, filters.length ? "No click in this range passes the filters: remove one above."
        : "None of this workspace's links was followed in this range."));
  }
  return h("section", { class: "card empty-state" },
    h("h2", {}, "No clicks in this range"),
    h("p", {}, range.preset === "90d" ? "Nobody has followed this link in the last 90 days."
      : "Nobody followed this link in this range. A longer range may show older clicks."),
    h("p", {}, h("a", { href: `#/links/${encodeURIComponent(code)}` }, `Share ${code}`),
      " to start counting: bots and previews are counted apart."));
}

function totals(now, before) {
  const item = (label, key) => {
    const change = before ? delta(now[key], before[key]) : null;
    return h("div", { class: "total" }, h("dt", {}, label),
      h("dd", {}, h("span", { class: "number", dataset: { total: key } }, now[key].toLocaleString()),
        change ? h("span", { class: "change" }, change) : null));
  };
  return h("section", { class: "card", "aria-label": "Totals" },
    h("dl", { class: "totals" }, item("Clicks", "clicks"), item("Unique visitors", "unique_visitors"),
      item("Bot clicks", "bot_clicks")));
}

function delta(now, before) {
  if (before === 0) return now === 0 ? "same as the previous period" : "previous period: 0";
  const pct = Math.round(((now - before) / before) * 100);
  return `${pct >= 0 ? "+" : ""}${pct}% vs the previous period (${before.toLocaleString()})`;
}

function seriesSection(current, previous, interval) {
  const xs = current.series.map((p) => Date.parse(p.t) / 1000);
  const ys = current.series.map((p) => p.clicks);
  const prev = previous ? current.series.map((_, i) => previous.series[i]?.clicks ?? null) : null;
  const label = interval === "hour" ? "hour" : "day";
  const total = ys.reduce((a, b) => a + b, 0);
  const heading = h("h2", { id: uid("series") }, `Clicks per ${label}`);
  const chart = h("div", { class: "chart", role: "img", dataset: { points: ys.length },
    "aria-label": `Clicks per ${label}: ${ys.length} points, ${total} clicks in all` +
                  (prev ? ", with the previous period" : "") + ". The table below has the numbers." });
  const legend = h("p", { class: "legend" }, h("span", { class: "swatch current" }), " This period",
    prev ? [" ", h("span", { class: "swatch previous" }), " Previous period"] : null);
  const when = (t) => new Date(t).toLocaleString(undefined, interval === "hour"
    ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" });
  const data = h("details", {}, h("summary", {}, "Show the numbers as a table"),
    table(heading, ["When", "Clicks", ...(prev ? ["Previous period"] : [])],
      current.series.map((p, i) => [when(p.t), String(p.clicks), ...(prev ? [String(prev[i] ?? "")] : [])]),
      { numeric: [1, 2] }));
  requestAnimationFrame(() => drawChart(chart, xs, ys, prev));
  return h("section", { class: "card" }, heading, legend, chart, data);
}

function drawChart(el, xs, ys, prev) {
  if (typeof uPlot === "undefined") return;
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const axis = { stroke: color("--muted"), grid: { stroke: color("--grid") }, ticks: { stroke: color("--grid") } };
  const series = [{}, { label: "This period", stroke: color("--accent"), width: 2, fill: color("--accent-fill") }];
  const data = [xs, ys];
  if (prev) { series.push({ label: "Previous period", stroke: color("--muted"), width: 1.5, dash: [6, 4] }); data.push(prev); }
  const plot = new uPlot({ width: Math.max(260, el.clientWidth), height: 260, series, data,
    legend: { show: false }, cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max * 1.1)] } },
    axes: [axis, { ...axis, size: 50 }] }, data, el);
  const resizing = new ResizeObserver(() => plot.setSize({ width: Math.max(260, el.clientWidth), height: 260 }));
  resizing.observe(el);
  // A canvas keeps the colours it was drawn with: redraw when the scheme changes.
  SCHEME.addEventListener("change", () => {
    resizing.disconnect();
    plot.destroy();
    if (el.isConnected) drawChart(el, xs, ys, prev);
  }, { once: true });
}
const SCHEME = matchMedia("(prefers-color-scheme: dark)");

// The map is drawn in a task of its own once the atlas is in, into a space kept
// for it (nothing below moves); without the atlas the table says it all.
function countriesSection(countries, total, atlasReady, rowsOf) {
  const section = breakdownSection("countries", "Countries", countries, total, rowsOf);
  if (!countries.length) return section;
  const slot = h("div", { class: "world" });
  const figure = h("figure", { class: "map" }, slot,
    // Dark mode draws busier countries lighter: the caption says what the scheme shows.
    h("figcaption", {}, h("span", { class: "only-light" }, "Darker"),
      h("span", { class: "only-dark" }, "Lighter"),
      " countries sent more clicks; the table below lists them."));
  section.querySelector("h2").after(figure);
  atlasReady.then((world) => {
    if (world) slot.replaceWith(worldMap(countries, world));
    else figure.remove();
  });
  return section;
}

function optionSections(link, current, rowsOf) {
  const shown = OPTION_BREAKDOWNS.filter(([key]) =>
    current[key].length || (link && OPTION_IN_USE[key](link)));
  if (!shown.length) return null;
  return h("div", { class: "grid" }, shown.map(([key, title]) =>
    breakdownSection(key, title, current[key], current.totals.clicks, rowsOf)));
}

// The filters in force, each in words, with "is ↔ is not" and "remove"; a row of
// any breakdown table adds one.
function filterBar(filters, params, goTo) {
  if (!filters.length) {
    return h("p", { class: "hint" }, "Select a row of any table below to show only those clicks.");
  }
  return h("div", { class: "filters", role: "group", "aria-label": "Filters" },
    h("span", {}, "Showing clicks where"),
    h("ul", {}, filters.map((f, i) => h("li", { class: "filter-chip" },
      h("span", { dataset: { filter: `${f.dimension}:${f.operator}:${f.value}` } }, describeFilter(f)),
      h("button", { type: "button", class: "link-button", onclick: () => goTo(toggled(params, i)),
                    "aria-label": `Invert: ${describeFilter({ ...f, operator: f.operator === "is" ? "is_not" : "is" })}` },
        f.operator === "is" ? "exclude instead" : "include instead"),
      h("button", { type: "button", class: "link-button", onclick: () => goTo(withoutFilter(params, i)),
                    "aria-label": `Remove filter: ${describeFilter(f)}` }, "remove")))),
    h("a", { href: `#${location.hash.slice(1).split("?")[0]}?${clearFilters(params)}` }, "Clear all"));
}

const clearFilters = (params) => {
  const next = new URLSearchParams(params);
  next.delete("filter");
  return next;
};

// The last 30 minutes, per minute: asked for with the page's filters on each load
// and every 30 seconds while the page is shown. Bars, and their numbers in a table.
function realtimePanel(path, query) {
  const number = h("span", { class: "number", dataset: { realtime: "clicks" } }, "…");
  const noun = h("span", {}, " clicks");
  const bars = h("div", { class: "realtime-bars", "aria-hidden": "true" });
  const heading = h("h2", { id: uid("realtime") }, "Last 30 minutes");
  const numbers = h("div", {});
  const section = h("section", { class: "card realtime", "aria-labelledby": heading.id },
    heading, h("p", {}, number, noun), bars, numbers);
  let timer = null;
  async function load() {
    clearTimeout(timer);
    try {
      const live = await api("GET", path, { query });
      number.textContent = live.totals.clicks.toLocaleString();
      noun.textContent = live.totals.clicks === 1 ? " click" : " clicks";
      const most = Math.max(1, ...live.series.map((p) => p.clicks));
      bars.replaceChildren(...live.series.map((p) => {
        const bar = h("span", { class: "bar" });
        bar.style.height = `${(p.clicks / most) * 100}%`;
        return bar;
      }));
      const minute = (t) => new Date(t).toLocaleTimeString(undefined, { timeStyle: "short" });
      numbers.replaceChildren(live.totals.clicks ? h("details", {},
        h("summary", {}, "Show the clicks per minute"),
        table("Clicks per minute, last 30 minutes", ["Minute", "Clicks"],
          live.series.map((p) => [minute(p.t), String(p.clicks)]), { numeric: [1] })) : "");
    } catch {
      number.textContent = "—";
    }
    timer = setTimeout(() => { if (section.isConnected) load(); }, 30_000);
  }
  return { section, load };
}

// A card per breakdown: its heading names the table (no second caption saying the same).
function breakdownSection(key, title, rows, total, rowsOf) {
  const heading = h("h2", { id: uid("breakdown") }, title);
  return h("section", { class: "card" }, heading, breakdownTable(heading, rows, key, total, rowsOf));
}

// An equirectangular SVG map; shade buckets are CSS classes, so dark mode and
// the CSP (no inline styles) both hold. Decorative: the table says the same.
function worldMap(countries, world) {
  const clicks = new Map(countries.map((c) => [world.numericOf.get(c.value), c.clicks]));
  const max = Math.max(1, ...clicks.values());
  const project = ([lon, lat]) => `${((lon + 180) * 2.5).toFixed(1)},${((90 - lat) * 2.5).toFixed(1)}`;
  // A ring that crosses the antimeridian (Russia, Fiji) is drawn on past 180°
  // and clipped by the view box, instead of streaking across the map.
  const ring = (points) => {
    const crosses = points.some((p, i) => i && Math.abs(p[0] - points[i - 1][0]) > 180);
    const shifted = crosses ? points.map(([lon, lat]) => [lon < 0 ? lon + 360 : lon, lat]) : points;
    return `M${shifted.map(project).join("L")}Z`;
  };
  const pathOf = (geometry) => {
    if (!geometry) return "";
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polygons.map((rings) => rings.map(ring).join("")).join("");
  };
  const map = svg("svg", { viewBox: "0 0 900 400", class: "world", "aria-hidden": "true",
                           focusable: "false" });
  // Countries without clicks share one path: a few hundred fewer nodes to lay out.
  let quiet = "";
  for (const feature of world.features) {
    if (feature.id === "010") continue;  // Antarctica: no one clicks from there
    const n = clicks.get(feature.id) || 0;
    if (n === 0) { quiet += pathOf(feature.geometry); continue; }
    const shade = 1 + Math.min(4, Math.floor((n / max) * 4.999));
    map.append(svg("path", { d: pathOf(feature.geometry), class: `shade-${shade}` },
      svg("title", {}, `${feature.properties.name}: ${n} clicks`)));
  }
  map.prepend(svg("path", { d: quiet, class: "shade-0" }));
  return map;
}

// Rows with a bar for each share (drawn by width, set through the CSSOM: the CSP
// forbids style attributes, not styles set by script). The numbers stay in the text.
function breakdownTable(heading, rows, key, total, rowsOf) {
  if (!rows.length) return h("p", { class: "empty" }, EMPTY_BREAKDOWN[key]);
  const text = (value) => key === "countries" ? `${countryName(value)} (${value})`
    : breakdownLabel(key, value);
  // A row filters the page by its value; a link's row opens that link's stats.
  const label = (value) => key === "links"
    ? h("a", { href: `#/links/${encodeURIComponent(value)}/stats?${rowsOf.linkParams}` }, value)
    : h("button", { type: "button", class: "link-button row-filter",
                    title: `Show only clicks where ${BREAKDOWN_COLUMN[key]} is ${text(value)}`,
                    onclick: () => rowsOf.filterBy({ dimension: DIMENSION_OF[key], operator: "is", value }) },
        text(value));
  // A click carries all its link's tags at once: a tag's share is of all clicks.
  const all = key === "tags" ? total : Math.max(total, rows.reduce((a, r) => a + r.clicks, 0));
  const share = (clicks) => {
    const bar = h("span", { class: "bar" });
    bar.style.width = `${(clicks / all) * 100}%`;
    return h("span", { class: "share" }, sharePercent(clicks, all),
      h("span", { class: "track", "aria-hidden": "true" }, bar));
  };
  return table(heading, [BREAKDOWN_COLUMN[key], "Clicks", "Share"],
    rows.map((r) => [label(r.value), r.clicks.toLocaleString(), share(r.clicks)]),
    { numeric: [1, 2], className: "breakdown" });
}

function exportCsv(code, current, previous) {
  const rows = [["section", "key", "clicks", "previous_period_clicks"]];
  current.series.forEach((p, i) => rows.push(["series", p.t, p.clicks, previous?.series[i]?.clicks ?? ""]));
  for (const key of ["clicks", "unique_visitors", "bot_clicks"]) {
    rows.push(["totals", key, current.totals[key], previous ? previous.totals[key] : ""]);
  }
  for (const key of ["countries", ...[...BREAKDOWNS, ...OPTION_BREAKDOWNS].map(([k]) => k), "links"]) {
    for (const r of current[key]) rows.push([key, r.value, r.clicks, ""]);
  }
  download(`${code}-stats-${current.from.slice(0, 10)}-${current.to.slice(0, 10)}.csv`, toCsv(rows), "text/csv");
}
