// Workspaces and roles as the UI needs them: which workspace to act in, what a
// role may grant, and the audit log's filters as they live in the page's address.
// Pure functions (no DOM, no fetch), unit-tested with node --test.

// Lowest to highest; the server's order (docs/workspaces.md).
export const ROLES = ["viewer", "editor", "admin", "owner"];

const rank = (role) => ROLES.indexOf(role);

export const atLeast = (role, least) => rank(role) >= rank(least);

// The roles someone may give: admins up to admin, owners every role.
export const grantableRoles = (role) =>
  role === "owner" ? ROLES : atLeast(role, "admin") ? ROLES.slice(0, rank("admin") + 1) : [];

// An admin may not change or remove an owner; an owner may change anyone.
export const mayManage = (role, memberRole) =>
  grantableRoles(role).includes(memberRole);

// The workspace to act in: the one kept from last time if the person is still in
// it, else the server's choice (their first). One workspace needs no choice (null).
export function chooseWorkspace(kept, slugs, serverChoice) {
  if (slugs.length < 2) return null;
  return slugs.includes(kept) ? kept : serverChoice;
}

// The audit log's filters: the address's query names are the API's.
export const AUDIT_FILTERS = ["link", "actor", "action", "from", "to"];

export function auditFilters(params) {
  const filters = {};
  for (const name of AUDIT_FILTERS) {
    const value = (params.get(name) || "").trim();
    if (value) filters[name] = value;
  }
  return filters;
}

export function auditHash(filters) {
  const query = new URLSearchParams();
  for (const name of AUDIT_FILTERS) if (filters[name]) query.set(name, filters[name]);
  return `#/workspace/audit${query.size ? `?${query}` : ""}`;
}

// What an entry changed, one row per field: [field, before, after] as text, sorted
// by field; a field only on one side (a create, a delete) shows "—" on the other.
export function changedFields(before, after) {
  const fields = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])].sort();
  const show = (side, name) => side && name in side ? valueText(side[name]) : "—";
  return fields.map((name) => [name, show(before, name), show(after, name)]);
}

function valueText(value) {
  if (value === null) return "null";
  return typeof value === "string" ? value : JSON.stringify(value);
}

// An entry's target as people read it: "link abc", "member a@b.example".
export const targetText = (entry) => `${entry.target_type} ${entry.target}`;
