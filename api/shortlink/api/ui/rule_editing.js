// The link options document (docs/link-rules.md) as the rules editor edits it: pure
// functions, no DOM (unit-tested with node --test). The editor edits a copy of the
// document in place and sends it back whole; what it sends keeps the order of what
// is on screen, so a server error's path (rules[2].conditions.country[0]) names the
// widget that shows it.

export const OPTION_FIELDS = ["rules", "variants", "max_clicks", "valid_from", "fallbacks", "utm",
                              "query_params", "pass_query", "tags", "folder"];
export const UTM_FIELDS = ["source", "medium", "campaign", "term", "content"];
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const REDIRECT_TYPES = [301, 302, 307, 308];

// Each condition a rule can hold: its key in the document, its name for people, and
// the widget that edits it. Choices are the server's (link_options.py, visitors.py).
export const CONDITIONS = [
  { key: "country", label: "Country", widget: "list", upper: true,
    hint: "ISO 3166-1 alpha-2 codes, comma-separated: GB, IE (not UK)." },
  { key: "city", label: "City", widget: "list", hint: "English names, comma-separated: Berlin, Paris." },
  { key: "device", label: "Device", widget: "choices",
    choices: ["desktop", "mobile", "tablet", "bot", "other"] },
  { key: "os", label: "Operating system", widget: "choices",
    choices: ["ios", "android", "windows", "macos", "linux", "other"] },
  { key: "browser", label: "Browser", widget: "choices",
    choices: ["chrome", "firefox", "safari", "edge", "opera", "samsung", "other"] },
  { key: "language", label: "Language", widget: "list",
    hint: "The visitor's first language, comma-separated: de covers de-AT; en-US only itself." },
  { key: "query", label: "Query parameter", widget: "query" },
  { key: "ip", label: "Client IP range", widget: "list",
    hint: "CIDRs, comma-separated: 192.0.2.0/24, 2001:db8::/32." },
  { key: "referrer_host", label: "Referrer host", widget: "list",
    hint: "Hosts, comma-separated; subdomains match too: news.example.com." },
  { key: "time", label: "Time window", widget: "time" },
];
export const conditionOf = (key) => CONDITIONS.find((c) => c.key === key);

const copy = (value) => JSON.parse(JSON.stringify(value ?? null));

// The editable document of a link: every option field, plus its expiry (the schedule's end).
export function editableOptions(link) {
  const doc = Object.fromEntries(OPTION_FIELDS.map((name) => [name, copy(link[name])]));
  doc.rules ||= [];
  doc.variants ||= [];
  doc.fallbacks ||= { not_yet: null, expired: null, exhausted: null };
  doc.utm ||= {};
  doc.query_params ||= {};
  doc.tags ||= [];
  return doc;
}

// "GB, ie ,," → ["GB", "IE"]: what a comma-separated list field holds.
export function splitList(text, upper = false) {
  return text.split(",").map((part) => part.trim()).filter(Boolean)
    .map((part) => upper ? part.toUpperCase() : part);
}

// A value for a fresh condition of that kind (empty: the server says what is missing).
export function emptyCondition(key) {
  if (key === "query") return [{ param: "" }];
  if (key === "time") return { time_zone: "UTC", windows: [emptyWindow()] };
  return [];
}
export const emptyWindow = () => ({ days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" });

function freeId(taken, make, from = 1) {
  for (let n = from; ; n++) if (!taken.includes(make(n))) return make(n);
}

// A new rule is named by its place (as the server names a rule without an id).
export function newRule(rules) {
  return { id: freeId(rules.map((r) => r.id), (n) => `rule-${n}`, rules.length + 1),
           conditions: { country: [] },
           action: { target: "", redirect_type: null } };
}

export function newVariant(variants) {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  return { id: freeId(variants.map((v) => v.id), (n) => letters[n - 1] || `v${n}`), target: "", weight: 1 };
}

// A fresh split has two variants (the least the server takes), half and half.
export const newSplit = () => { const a = newVariant([]); return [a, newVariant([a])]; };

// Each variant's share of the total weight in percent (one decimal), or null when
// the weights are not all whole numbers of at least 1 (a sum of 0 has no shares).
export function shares(variants) {
  if (!variants.length || variants.some((v) => !Number.isInteger(v.weight) || v.weight < 1)) return null;
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  return variants.map((v) => Math.round((v.weight / total) * 1000) / 10);
}

// What is wrong with a variant set before it is sent: [path, message] pairs. The
// server checks the same (and more); these are the ones worth saying while typing.
export function variantProblems(variants, path) {
  const problems = [];
  if (variants.length === 1) problems.push([path, "A split needs at least 2 variants."]);
  variants.forEach((v, i) => {
    if (!Number.isInteger(v.weight) || v.weight < 1) {
      problems.push([`${path}[${i}].weight`, "A weight is a whole number of at least 1."]);
    }
  });
  if (variants.length && variants.every((v) => !(v.weight > 0))) {
    problems.push([path, "The weights add up to 0: give the variants weights of 1 or more."]);
  }
  return problems;
}

// What the editor refuses before sending: a condition left without a value (the
// server would only say the rule has no condition), and variant sets as above.
export function problemsBeforeSending(doc) {
  const problems = variantProblems(doc.variants, "variants");
  doc.rules.forEach((rule, i) => {
    for (const [key, value] of Object.entries(rule.conditions || {})) {
      if (Array.isArray(value) && !value.length) {
        problems.push([`rules[${i}].conditions.${key}`, "Give at least one value, or remove this condition."]);
      }
    }
    if (rule.action?.variants) problems.push(...variantProblems(rule.action.variants, `rules[${i}].action.variants`));
  });
  return problems;
}

export function splitSummary(doc) {
  const said = (variants) => {
    const got = shares(variants);
    return got ? variants.map((v, i) => `${v.id} ${got[i]} %`).join(", ") : "weights to fix";
  };
  const lines = [];
  if (doc.variants.length) lines.push(`Default split: ${said(doc.variants)}.`);
  for (const rule of doc.rules) {
    if (rule.action.variants) lines.push(`Rule ${rule.id} splits: ${said(rule.action.variants)}.`);
  }
  return lines.length ? lines.join(" ") : "No A/B split.";
}

// Python's urllib.parse.quote with safe="" (what the server's urlencode uses).
const quote = (text) => encodeURIComponent(text)
  .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// The server's merge rule (query_merge.append_params): params appended in order,
// except keys the URL (or an earlier param) already has; the fragment stays last.
export function appendParams(url, params) {
  const hashAt = url.indexOf("#");
  const [head, fragment] = hashAt < 0 ? [url, ""] : [url.slice(0, hashAt), url.slice(hashAt)];
  const queryAt = head.indexOf("?");
  const [base, query] = queryAt < 0 ? [head, ""] : [head.slice(0, queryAt), head.slice(queryAt + 1)];
  const present = new Set([...new URLSearchParams(query).keys()]);
  const added = [];
  for (const [key, value] of params) {
    if (present.has(key) || key === "unlock_token") continue;
    present.add(key);
    added.push(`${quote(key)}=${quote(value)}`);
  }
  if (!added.length) return url;
  return `${base}?${query ? `${query}&` : ""}${added.join("&")}${fragment}`;
}

// What every redirect target gets appended: the UTM fields in order, then the rest.
export function addedParams(doc) {
  const utm = UTM_FIELDS.filter((f) => doc.utm[f]).map((f) => [`utm_${f}`, doc.utm[f]]);
  return [...utm, ...Object.entries(doc.query_params)];
}

export const finalUrl = (target, doc) => appendParams(target, addedParams(doc));

// The document as PATCH takes it: blank optional texts are "not set" (null), the
// rest as edited (an empty condition or target goes as is: the server names it).
export function documentToSend(doc) {
  const sent = copy(doc);
  for (const field of UTM_FIELDS) if (!sent.utm[field]) delete sent.utm[field];
  for (const key of Object.keys(sent.fallbacks)) sent.fallbacks[key] ||= null;
  sent.valid_from ||= null;
  sent.folder = sent.folder?.trim() || null;
  if (sent.max_clicks === "" || sent.max_clicks === undefined) sent.max_clicks = null;
  return sent;
}

// The widget to mark for a server error's field: the longest known path that is the
// field itself or contains it (rules[2].conditions.country[0] → …conditions.country).
export function widgetPath(field, known) {
  let best = null;
  for (const path of known) {
    const within = field === path || field.startsWith(`${path}.`) || field.startsWith(`${path}[`);
    if (within && (!best || path.length > best.length)) best = path;
  }
  return best;
}
