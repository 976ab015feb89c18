// The executed course as a static web site: one page per lesson (markdown with KaTeX math,
// code, text and HTML outputs, images, and interactive Plotly charts drawn by the local
// plotly.js), an index with every lesson's scale and run time, and navigation between them.
// Everything the pages load is copied next to them, so the site works offline.
//
// npm run site [-- [--from DIR] [--to DIR] [--check]]
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import katex from "katex";
import { Marked } from "marked";

import { escapeHtml } from "../lib/core/display";
import { resolvePackageFile } from "../lib/core/paths";
import { cellSource, readNotebook, writeNotebook, type Cell, type Notebook, type Output } from "./notebook";
import { ROOT } from "./runner";
import { parseCommandLine, runMain } from "./cli";

const USAGE = "usage: npm run site [-- [--from DIR] [--to DIR] [--check]]   (default: build/notebooks to build/site)";

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

const markdown = new Marked({ gfm: true });

/**
 * Markdown to HTML with $…$ and $$…$$ rendered by KaTeX. Math is cut out before markdown sees
 * it (so `_` and `*` inside formulas stay maths) and code spans are left alone.
 */
export function renderMarkdown(source: string): string {
  const formulas: string[] = [];
  const protectedSource = source
    .split(/(```[\s\S]*?```|`[^`\n]*`)/)
    .map((part, i) => i % 2 === 1 ? part : part.replace(/\$\$([\s\S]+?)\$\$|\$((?:\\\$|[^$\n])+?)\$/g, (_, display: string | undefined, inline: string | undefined) => {
      formulas.push(katex.renderToString((display ?? inline)!.trim(), { displayMode: display !== undefined, throwOnError: false, output: "html" }));
      return `KATEXFORMULA${formulas.length - 1}END`;
    }))
    .join("");
  const html = markdown.parse(protectedSource, { async: false });
  return html.replace(/KATEXFORMULA(\d+)END/g, (_, i: string) => formulas[Number(i)]);
}

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join("") : value ?? "";
}

/** Strips ANSI colour codes from kernel text. */
function plainText(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/** One output as HTML; charts become a placeholder that site.js draws, with a PNG for readers without JavaScript. */
export function renderOutput(output: Output, nextChartId: () => string): string {
  if (output.output_type === "stream") {
    return `<pre class="output stream ${output.name === "stderr" ? "stderr" : "stdout"}">${escapeHtml(plainText(joined(output.text)))}</pre>`;
  }
  if (output.output_type === "error") {
    return `<pre class="output stderr">${escapeHtml(plainText([`${output.ename}: ${output.evalue}`, ...(output.traceback ?? [])].join("\n")))}</pre>`;
  }
  const data = (output.data ?? {}) as Record<string, unknown>;
  if (data[PLOTLY_MIME]) {
    const chartId = nextChartId();
    // "</" cannot appear inside a script element; "<\/" is the same JSON.
    const spec = JSON.stringify(data[PLOTLY_MIME]).replace(/<\//g, "<\\/");
    return [
      `<figure class="output chart">`,
      `<div class="plotly-chart" id="${chartId}"></div>`,
      `<script type="application/json" data-chart="${chartId}">${spec}</script>`,
      `<noscript><img src="figures/${chartId}.png" alt="chart"></noscript>`,
      `<figcaption><a href="figures/${chartId}.png">PNG</a></figcaption>`,
      `</figure>`,
    ].join("\n");
  }
  if (data["text/html"]) return `<div class="output html">${joined(data["text/html"] as string | string[])}</div>`;
  for (const mime of ["image/png", "image/jpeg"]) {
    if (data[mime]) return `<div class="output image"><img src="data:${mime};base64,${joined(data[mime] as string | string[]).replace(/\s/g, "")}" alt=""></div>`;
  }
  if (data["image/svg+xml"]) return `<div class="output image">${joined(data["image/svg+xml"] as string | string[])}</div>`;
  if (data["text/markdown"]) return `<div class="output markdown">${renderMarkdown(joined(data["text/markdown"] as string | string[]))}</div>`;
  if (data["text/plain"]) return `<pre class="output">${escapeHtml(plainText(joined(data["text/plain"] as string | string[])))}</pre>`;
  return "";
}

export interface LessonPage {
  /** File stem, e.g. "01-foundation-models". */
  name: string;
  title: string;
  notebook: Notebook;
}

/** The lesson's title: its first markdown heading, else its file name. */
export function lessonTitle(nb: Notebook, name: string): string {
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const heading = cellSource(cell).match(/^#\s+(.+)$/m);
    if (heading) return heading[1].trim();
  }
  return name;
}

interface CourseRun {
  scale?: string;
  ok?: boolean;
  seconds?: number;
  executedAt?: string;
}

function runOf(nb: Notebook): CourseRun {
  return (nb.metadata.course ?? {}) as CourseRun;
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return "–";
  return seconds < 120 ? `${seconds.toFixed(1)} s` : `${(seconds / 60).toFixed(1)} min`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="assets/katex/katex.min.css">
<link rel="stylesheet" href="assets/site.css">
<script src="assets/plotly.min.js"></script>
</head>
<body>
${body}
<script src="assets/site.js"></script>
</body>
</html>
`;
}

function renderCell(cell: Cell, lesson: string, index: number, charts: { count: number }): string {
  if (cell.cell_type === "markdown") return `<section class="cell markdown">${renderMarkdown(cellSource(cell))}</section>`;
  if (cell.cell_type !== "code") return "";
  const seconds = (cell.metadata?.course as { seconds?: number } | undefined)?.seconds;
  const outputs = (cell.outputs ?? []).map((o) => renderOutput(o, () => chartId(lesson, ++charts.count))).join("\n");
  return `<section class="cell code" id="cell-${index + 1}">
<div class="source"><span class="label">cell ${index + 1}${seconds === undefined ? "" : ` · ${duration(seconds)}`}</span><pre><code>${escapeHtml(cellSource(cell))}</code></pre></div>
${outputs ? `<div class="outputs">${outputs}</div>` : ""}
</section>`;
}

export function renderLesson(lesson: LessonPage, previous?: LessonPage, next?: LessonPage): string {
  const run = runOf(lesson.notebook);
  const charts = { count: 0 };
  const cells = lesson.notebook.cells.map((c, i) => renderCell(c, lesson.name, i, charts)).join("\n");
  const link = (p: LessonPage | undefined, rel: string) => p ? `<a rel="${rel}" href="${p.name}.html">${rel === "prev" ? "← " : ""}${escapeHtml(p.title)}${rel === "next" ? " →" : ""}</a>` : "<span></span>";
  const nav = `<nav class="lessons">${link(previous, "prev")}<a href="index.html">All lessons</a>${link(next, "next")}</nav>`;
  const meta = `<p class="run">Executed ${run.executedAt ? new Date(run.executedAt).toISOString().slice(0, 16).replace("T", " ") + " UTC" : "at an unknown time"} at <b>${escapeHtml(run.scale ?? "unknown")}</b> scale in ${duration(run.seconds)}${run.ok === false ? ' · <b class="failed">a cell failed</b>' : ""}.</p>`;
  return page(lesson.title, `${nav}\n<main>\n${meta}\n${cells}\n</main>\n${nav}`);
}

export function renderIndex(lessons: LessonPage[]): string {
  const rows = lessons.map((l) => {
    const run = runOf(l.notebook);
    return `<tr><td><a href="${l.name}.html">${escapeHtml(l.title)}</a></td><td>${escapeHtml(run.scale ?? "–")}</td><td>${duration(run.seconds)}</td><td>${run.ok === false ? '<b class="failed">failed</b>' : "ok"}</td></tr>`;
  }).join("\n");
  return page("Foundation models on a laptop", `<main>
<h1>Foundation models on a laptop</h1>
<p>The course's lessons as last executed on this machine: every chart is interactive and drawn from the numbers the lesson measured.</p>
<table class="index"><thead><tr><th>lesson</th><th>scale</th><th>run time</th><th>status</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</main>`);
}

const SITE_CSS = `body { font: 16px/1.55 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fff; }
main { max-width: 960px; margin: 0 auto; padding: 0 1.2rem 3rem; }
nav.lessons { display: flex; justify-content: space-between; gap: 1rem; max-width: 960px; margin: 0 auto; padding: .8rem 1.2rem; font-size: .9rem; }
nav.lessons a { color: #0b57d0; text-decoration: none; }
p.run { color: #555; font-size: .9rem; }
.failed { color: #b00020; }
.cell { margin: 1rem 0; }
.cell.code .source { background: #f6f8fa; border-left: 3px solid #0b57d0; padding: .3rem .8rem; }
.cell.code .label { color: #777; font-size: .75rem; }
pre { margin: .3rem 0; overflow-x: auto; font: 13px/1.45 ui-monospace, monospace; }
.source pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.output.html { overflow-x: auto; }
.outputs { padding: .2rem .8rem; }
pre.stderr { color: #b00020; }
.output.html table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0; }
.output.html th, .output.html td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
table.index { border-collapse: collapse; width: 100%; }
table.index th, table.index td { border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; }
figure.chart { margin: .5rem 0; }
figure.chart figcaption { font-size: .75rem; text-align: right; }
.plotly-chart { min-height: 300px; }
img { max-width: 100%; }
`;

/** Draws every chart from its JSON; marks it data-rendered once Plotly has finished. */
const SITE_JS = `for (const spec of document.querySelectorAll("script[data-chart]")) {
  const id = spec.getAttribute("data-chart");
  const figure = JSON.parse(spec.textContent);
  const layout = Object.assign({}, figure.layout, { autosize: true });
  Plotly.newPlot(id, figure.data, layout, { responsive: true }).then((el) => el.setAttribute("data-rendered", "true"));
}
`;

/** Executed notebooks in `dir`, in lesson order. */
export function readLessons(dir: string): LessonPage[] {
  if (!existsSync(dir)) throw new Error(`site: no executed lessons in ${dir} (the folder does not exist); run \`npm run course\` first`);
  const files = readdirSync(dir).filter((f) => f.endsWith(".ipynb")).sort();
  if (files.length === 0) throw new Error(`site: no executed lessons (*.ipynb) in ${dir}; run \`npm run course\` first`);
  return files.map((f) => {
    const notebook = readNotebook(join(dir, f));
    const name = basename(f, ".ipynb");
    return { name, title: lessonTitle(notebook, name), notebook };
  });
}

/**
 * Renders the executed notebooks in `from` to a site in `to`. The site is assembled in a
 * temporary folder and swapped in whole, so a reader never sees half of it.
 */
export function buildSite(from: string, to: string): { pages: string[]; charts: number } {
  const lessons = readLessons(from);
  const target = resolve(to);
  const staging = `${target}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, "assets"), { recursive: true });
  mkdirSync(join(staging, "figures"), { recursive: true });
  cpSync(resolvePackageFile("plotly.js-dist-min/plotly.min.js"), join(staging, "assets", "plotly.min.js"));
  const katexDist = dirname(resolvePackageFile("katex/dist/katex.min.css"));
  cpSync(join(katexDist, "katex.min.css"), join(staging, "assets", "katex", "katex.min.css"));
  cpSync(join(katexDist, "fonts"), join(staging, "assets", "katex", "fonts"), { recursive: true });
  writeFileSync(join(staging, "assets", "site.css"), SITE_CSS);
  writeFileSync(join(staging, "assets", "site.js"), SITE_JS);
  let charts = 0;
  lessons.forEach((lesson, i) => {
    const html = renderLesson(lesson, lessons[i - 1], lessons[i + 1]);
    charts += (html.match(/class="plotly-chart"/g) ?? []).length;
    writeFileSync(join(staging, `${lesson.name}.html`), html);
  });
  writeFileSync(join(staging, "index.html"), renderIndex(lessons));
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return { pages: ["index.html", ...lessons.map((l) => `${l.name}.html`)], charts };
}

/** The id the site gives a lesson's k-th chart (1-based, in output order), which names its PNG. */
export function chartId(lesson: string, k: number): string {
  return `${lesson}-fig${k}`;
}

/**
 * Puts each chart's PNG into the executed notebooks in `dir`: as an image/png alternative, and
 * as an image in front of the self-drawing HTML, which replaces it once plotly.js runs. Readers
 * that run no JavaScript (an untrusted notebook, a static renderer) see the picture.
 */
export function embedStaticFigures(dir: string, figures: string): number {
  let embedded = 0;
  for (const { name } of readLessons(dir)) {
    const path = join(dir, `${name}.ipynb`);
    const nb = readNotebook(path);
    let k = 0;
    for (const output of nb.cells.flatMap((c) => c.outputs ?? [])) {
      if (output.output_type !== "display_data" || !output.data[PLOTLY_MIME]) continue;
      const png = join(figures, `${chartId(name, ++k)}.png`);
      if (!existsSync(png)) continue;
      const base64 = readFileSync(png).toString("base64");
      const html = joined(output.data["text/html"] as string | string[] | undefined).replace(/<img class="course-static"[^>]*>/, "");
      const at = html.lastIndexOf("<div id=");
      const img = `<img class="course-static" src="data:image/png;base64,${base64}" alt="chart" style="max-width:100%">`;
      output.data["image/png"] = base64;
      output.data["text/html"] = at < 0 ? img + html : html.slice(0, at) + img + html.slice(at);
      embedded++;
    }
    writeNotebook(path, nb);
  }
  return embedded;
}

/**
 * Builds the site from the executed notebooks in `from`, then (check "yes", or "if-installed"
 * where Chromium is found) checks it in Chromium and embeds the chart PNGs it drew in the
 * notebooks. Returns false if the check failed.
 */
export async function publishSite(from: string, to: string, check: "yes" | "if-installed" | "no"): Promise<boolean> {
  const site = buildSite(from, to);
  console.log(`site: ${site.pages.length} pages, ${site.charts} charts → ${join(resolve(to), "index.html")}`);
  if (check === "no") return true;
  // Loaded only when checking: playwright-core is not needed to build the site.
  const { checkSite, describeSiteCheck, findChromium } = await import("./browser");
  if (check === "if-installed" && !findChromium()) {
    console.log("site: Chromium not found, so no figure PNGs or browser check (Debian: apt-get install chromium)");
    return true;
  }
  const report = await checkSite(to);
  console.log(describeSiteCheck(report));
  console.log(`site: ${embedStaticFigures(from, join(to, "figures"))} chart PNGs embedded in the executed notebooks in ${resolve(from)}, for readers without JavaScript`);
  return report.ok;
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(USAGE, {
    options: {
      from: { type: "string", default: join(ROOT, "build", "notebooks") },
      to: { type: "string", default: join(ROOT, "build", "site") },
      check: { type: "boolean", default: false },
    },
  });
  try {
    if (!(await publishSite(values.from, values.to, values.check ? "yes" : "no"))) process.exitCode = 1;
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) runMain(main);
