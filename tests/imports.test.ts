// The direction of imports in lib/, read from the sources (type imports included):
//   lib/core            imports nothing above it;
//   lib/gpt             (the engine) imports core only;
//   a lesson's folder   imports core and gpt, never another lesson's folder;
// and no module reaches itself through its imports (no cycles, not even through types).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

import { projectRoot } from "../lib/core/paths";

const LIB = join(projectRoot(), "lib");

/** Every .ts and .mjs module under lib/, as a path relative to lib/. */
function modules(dir = LIB): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [relative(LIB, path)] : [];
  });
}

/** The lib/ modules a module imports (static, type-only, re-exports and dynamic import()). */
function importsOf(module: string, known: Set<string>): string[] {
  const source = readFileSync(join(LIB, module), "utf8");
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => {
      const target = relative(LIB, resolve(dirname(join(LIB, module)), name));
      const found = [target, `${target}.ts`, join(target, "index.ts")].find((t) => known.has(t));
      if (found === undefined) throw new Error(`${module} imports ${name}, which is no module of lib/`);
      return found;
    });
}

/** The layer a module belongs to: "root" (lib/index.ts), "core", "gpt", or a lesson's folder. */
function folderOf(module: string): string {
  return module.includes("/") ? module.split("/")[0] : "root";
}

/** Whether `from` may import `to`: each folder imports its own modules and the layers below it. */
export function allowedImport(from: string, to: string): boolean {
  const a = folderOf(from), b = folderOf(to);
  if (a === b || a === "root") return true;
  if (b === "core") return true;
  if (b === "gpt") return a !== "core";
  return false; // into a lesson's folder from core, gpt or another lesson
}

/** The cycles among modules (Tarjan's strongly connected components of more than one module, or a self-import). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const order = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    order.set(v, index); low.set(v, index); index++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!order.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!));
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!order.has(v)) visit(v);
  return found;
}

describe("the import graph of lib/", () => {
  const all = modules();
  const known = new Set(all);
  const graph = new Map(all.map((m) => [m, importsOf(m, known)]));

  it("reads every module and finds the engine's imports of core", () => {
    // A parser that read nothing would pass every rule below.
    expect(all.length).toBeGreaterThan(50);
    expect(graph.get("gpt/train.ts")).toContain("core/checks.ts");
    expect(graph.get("index.ts")).toContain("core/index.ts");
  });

  it("points one way: core ← gpt ← each lesson's folder, and no lesson's folder imports another", () => {
    const wrong = [...graph].flatMap(([from, targets]) => targets.filter((to) => !allowedImport(from, to)).map((to) => `${from} → ${to}`));
    expect(wrong).toEqual([]);
  });

  it("has no cycles, type imports included", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("has folder indexes that list their exports by name", () => {
    const star = all.filter((m) => m.endsWith("/index.ts") && /^export \* from/m.test(readFileSync(join(LIB, m), "utf8")));
    expect(star).toEqual([]);
  });

  it("would catch a wrong arrow and a cycle (the rules themselves)", () => {
    expect(allowedImport("core/display.ts", "gpt/train.ts")).toBe(false);
    expect(allowedImport("gpt/train.ts", "efficiency/precision.ts")).toBe(false);
    expect(allowedImport("zeroshot/study.ts", "reuse/analysis.ts")).toBe(false);
    expect(allowedImport("reuse/study.ts", "gpt/model.ts")).toBe(true);
    expect(allowedImport("gpt/model.ts", "core/random.ts")).toBe(true);
    expect(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]))).toEqual([["a", "b", "c"]]);
    expect(cycles(new Map([["a", ["a"]]]))).toEqual([["a"]]);
    expect(cycles(new Map([["a", ["b"]], ["b", []]]))).toEqual([]);
  });
});
