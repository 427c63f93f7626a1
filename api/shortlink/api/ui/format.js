// Text for people: dates, local date-time inputs, a link's status labels. Pure
// functions (no DOM), unit-tested with node --test.

// One formatter for every date shown: toLocaleString with options builds a new one
// per call, which a page of links pays 40 times.
let dateFormat = null;
export function formatDate(iso) {
  if (!iso) return "—";
  dateFormat ||= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  return dateFormat.format(new Date(iso));
}

// <input type="datetime-local"> speaks local wall time without a zone.
export function toLocalInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

export function linkStatus(link, now = new Date()) {
  const labels = [];
  if (!link.is_active) labels.push("deactivated");
  else if (link.expires_at && new Date(link.expires_at) <= now) labels.push("expired");
  else labels.push("active");
  if (link.password_protected) labels.push("password");
  if (link.managed_by === "kubernetes") labels.push("kubernetes");
  return labels;
}

const DEVICES = { desktop: "Desktop", mobile: "Mobile", tablet: "Tablet", bot: "Bot", other: "Other" };

// A breakdown value as people write it: device types are stored in lower case;
// browser and OS families come as their makers spell them ("iOS", "macOS"), kept.
// A variant comes as "<rule id>/<variant id>", "link/<variant id>" for the link's own split.
export function breakdownLabel(key, value) {
  if (!value) return "(none)";
  if (key === "devices") return DEVICES[value] || value[0].toUpperCase() + value.slice(1);
  if (key === "variants" && value.includes("/")) {
    const at = value.indexOf("/");
    const [rule, variant] = [value.slice(0, at), value.slice(at + 1)];
    return rule === "link" ? `${variant} (link's split)` : `${variant} (rule ${rule})`;
  }
  return value;
}

// A count's share of all clicks as people read it: whole percent, "<1%" rather than
// a misleading 0 % for a few clicks among many.
export function sharePercent(count, total) {
  if (!count || !total) return "0%";
  const percent = (count / total) * 100;
  return percent < 0.5 ? "<1%" : `${Math.round(percent)}%`;
}

// "1 API key", "2 API keys": a count with its noun, singular for one.
export function plural(count, one, many = `${one}s`) {
  return `${count.toLocaleString("en")} ${count === 1 ? one : many}`;
}

// A sparkline's polyline points for counts in a width × height box (y grows down):
// evenly spaced, scaled to the largest count; all zeros lie flat on the bottom edge.
export function sparklinePoints(counts, width, height, pad = 1) {
  const max = Math.max(...counts, 0);
  const step = counts.length > 1 ? (width - 2 * pad) / (counts.length - 1) : 0;
  const y = (n) => (max ? height - pad - (n / max) * (height - 2 * pad) : height - pad);
  return counts.map((n, i) => `${+(pad + i * step).toFixed(1)},${+y(n).toFixed(1)}`).join(" ");
}
