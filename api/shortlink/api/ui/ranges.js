// A stats page's range: presets, or a custom from/to, in whole hours. Pure
// functions (no DOM), unit-tested with node --test.

const HOUR = 3600 * 1000;

export const PRESETS = [["24h", "Last 24 hours", 24], ["7d", "Last 7 days", 24 * 7],
                        ["30d", "Last 30 days", 24 * 30], ["90d", "Last 90 days", 24 * 90],
                        ["custom", "Custom range", 0]];

// Whole hours, as the API counts them: the previous period then ends exactly
// where this one starts, and the two series line up bucket for bucket.
const floorHour = (date) => new Date(Math.floor(date / HOUR) * HOUR);
const ceilHour = (date) => new Date(Math.ceil(date / HOUR) * HOUR);

export function rangeOf(params, now = new Date()) {
  const preset = params.get("range") || "7d";
  if (preset === "custom") {
    const from = new Date(params.get("from")), to = new Date(params.get("to"));
    if (!isNaN(from) && !isNaN(to) && to > from) {
      return { preset, from: floorHour(from), to: ceilHour(to) };
    }
  }
  const hours = (PRESETS.find(([id]) => id === preset && id !== "custom") || PRESETS[1])[2];
  const to = ceilHour(now);
  return { preset: preset === "custom" ? "7d" : preset, from: new Date(to - hours * HOUR), to };
}
