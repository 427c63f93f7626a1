// The web UI's module graph: no import cycles, and app.js only boots (nothing imports it).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const IMPORT = /(?:\bimport\s*(?:[\w{}\s,*]+\sfrom\s*)?|\bimport\s*\(\s*)"\.\/([\w.-]+\.js)"/g;

function graph() {
  const modules = readdirSync(UI).filter((name) => name.endsWith(".js"));
  return new Map(modules.map((name) => [name,
    [...readFileSync(new URL(name, UI), "utf8").matchAll(IMPORT)].map((m) => m[1])]));
}

function cycleFrom(edges, start, path = [start]) {
  for (const next of edges.get(path.at(-1)) || []) {
    if (next === start) return [...path, next];
    if (!path.includes(next)) {
      const found = cycleFrom(edges, start, [...path, next]);
      if (found) return found;
    }
  }
  return null;
}

test("every relative import names a module that exists", () => {
  const edges = graph();
  for (const [name, imports] of edges) {
    for (const target of imports) assert.ok(edges.has(target), `${name} imports ${target}`);
  }
});

test("no module imports itself through others", () => {
  const edges = graph();
  const cycles = [...edges.keys()].map((name) => cycleFrom(edges, name)).filter(Boolean);
  assert.deepEqual(cycles.map((c) => c.join(" → ")), []);
});

test("app.js only boots: no module imports it", () => {
  const importers = [...graph()].filter(([, imports]) => imports.includes("app.js"));
  assert.deepEqual(importers.map(([name]) => name), []);
});

test("every module parses as a module", () => {
  // node --check alone takes a .js file for CommonJS and passes what a browser refuses.
  for (const name of graph().keys()) {
    execFileSync(process.execPath, ["--experimental-default-type=module", "--check",
                                    fileURLToPath(new URL(name, UI))], { stdio: "pipe" });
  }
});
