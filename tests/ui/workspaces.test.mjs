import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const { atLeast, auditFilters, auditHash, changedFields, chooseWorkspace, grantableRoles,
        mayManage, targetText } = await import(new URL("workspaces.js", UI));

test("roles grant up to their own, admins never owner", () => {
  assert.deepEqual(grantableRoles("owner"), ["viewer", "editor", "admin", "owner"]);
  assert.deepEqual(grantableRoles("admin"), ["viewer", "editor", "admin"]);
  assert.deepEqual(grantableRoles("editor"), []);
  assert.deepEqual(grantableRoles("viewer"), []);
  assert.ok(atLeast("owner", "admin") && atLeast("admin", "admin") && !atLeast("editor", "admin"));
});

test("an admin manages members up to admin; an owner manages owners too", () => {
  assert.ok(mayManage("admin", "editor") && mayManage("admin", "admin"));
  assert.ok(!mayManage("admin", "owner"));
  assert.ok(mayManage("owner", "owner"));
  assert.ok(!mayManage("editor", "viewer"));
});

test("the kept workspace wins while the person is in it; one workspace needs no choice", () => {
  assert.equal(chooseWorkspace("team-b", ["team-a", "team-b"], "team-a"), "team-b");
  assert.equal(chooseWorkspace("gone", ["team-a", "team-b"], "team-a"), "team-a");
  assert.equal(chooseWorkspace(null, ["team-a", "team-b"], "team-a"), "team-a");
  assert.equal(chooseWorkspace("team-a", ["team-a"], "team-a"), null);
  assert.equal(chooseWorkspace("team-a", [], "team-a"), null);
});

test("audit filters round-trip through the address, blanks and unknown names dropped", () => {
  const params = new URLSearchParams("link=abc&actor=%20a%40b.example%20&action=&from=" +
    "2026-12-01T00%3A00%3A00.000Z&cursor=9&other=x");
  const filters = auditFilters(params);
  assert.deepEqual(filters, { link: "abc", actor: "a@b.example", from: "2026-12-01T00:00:00.000Z" });
  const hash = auditHash(filters);
  assert.equal(hash, "#/workspace/audit?link=abc&actor=a%40b.example&from=2026-12-01T00%3A00%3A00.000Z");
  assert.deepEqual(auditFilters(new URLSearchParams(hash.split("?")[1])), filters);
  assert.equal(auditHash({}), "#/workspace/audit");
});

test("an entry's changes: one row per field, a missing side a dash, values as text", () => {
  assert.deepEqual(changedFields({ role: "editor", n: 1 }, { role: "viewer", tags: ["a"] }), [
    ["n", "1", "—"], ["role", "editor", "viewer"], ["tags", "—", '["a"]']]);
  assert.deepEqual(changedFields(null, { is_active: false, x: null }),
                   [["is_active", "—", "false"], ["x", "—", "null"]]);
  assert.deepEqual(changedFields(null, null), []);
});

test("a target reads as its type and name", () => {
  assert.equal(targetText({ target_type: "member", target: "a@b.example" }), "member a@b.example");
});
