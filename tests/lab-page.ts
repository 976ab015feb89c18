// Builds the JupyterLab 4 test page (tests/jupyterlab/page.ts) with esbuild into a folder a
// Jupyter server can serve under /static/: page.js, page.css and an index.html whose page
// config names the notebook to open. Its packages are test-only, in tests/jupyterlab.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { build, type Plugin } from "esbuild";

import { ROOT } from "../tools/runner";

export const LAB_PAGE_DIR = join(ROOT, "tests", "jupyterlab");

/** Why the page cannot be built here, or null. */
export function labPageMissing(): string | null {
  return existsSync(join(LAB_PAGE_DIR, "node_modules", "@jupyterlab", "notebook")) ? null : "JupyterLab's packages (npm ci --prefix tests/jupyterlab)";
}

// JupyterLab's stylesheets import each other as "~package/file.css", webpack's spelling.
const webpackTilde: Plugin = {
  name: "webpack-tilde",
  setup(b) {
    b.onResolve({ filter: /^~/ }, (args) => b.resolve(args.path.slice(1), { kind: args.kind, resolveDir: args.resolveDir }));
  },
};

/** Bundles the page into `outDir` for the notebook at `notebookPath` (relative to the server's root). */
export async function buildLabPage(outDir: string, notebookPath: string): Promise<void> {
  const problem = labPageMissing();
  if (problem) throw new Error(`buildLabPage: ${problem} not installed`);
  await build({
    entryPoints: [join(LAB_PAGE_DIR, "page.ts")], bundle: true, outdir: outDir, format: "iife", target: "es2022", logLevel: "error",
    loader: { ".svg": "text", ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".png": "dataurl", ".gif": "dataurl" },
    define: { "process.env.NODE_ENV": '"production"' },
    plugins: [webpackTilde],
  });
  const config = { baseUrl: "/", token: "", notebookPath };
  writeFileSync(join(outDir, "index.html"), [
    `<!doctype html><html><head><meta charset="utf-8"><title>JupyterLab 4 notebook (test page)</title>`,
    `<link rel="stylesheet" href="page.css">`,
    `<script id="jupyter-config-data" type="application/json">${JSON.stringify(config)}</script>`,
    `<script src="page.js"></script></head><body></body></html>`,
  ].join("\n"));
}
