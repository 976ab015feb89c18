// Rich outputs for lessons: Plotly charts, tables and live progress, each sent as one
// Jupyter output that carries several MIME types, so every front end finds one it renders.
// Outside a kernel (scripts, tests) the text/plain part goes to stdout.
import { sep } from "node:path";

import { checkObject, shown } from "./checks";

/** One Jupyter output: MIME type → content. */
export type MimeBundle = Record<string, string | object>;

export interface PlotlyFigure {
  data: object[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** What `table` needs from a danfojs DataFrame (or anything shaped like one). */
export interface TableLike {
  columns: string[];
  values: unknown[] | unknown[][];
  index?: (string | number)[];
}

/** One cell of a table given as records. */
export type TableCell = string | number | boolean | null;

/**
 * What `table` prints: an array of records (one per row, its keys the columns), a danfojs
 * DataFrame, or anything with `columns` and `values`.
 */
export type TableInput<T> = TableLike | readonly T[];
/** A record of cells. A mapped type, so that interfaces pass too: an interface has no index signature, so it is no `Record<string, TableCell>`. */
type Row<T> = { [K in keyof T]: TableCell };

export interface TableOptions {
  /** Significant digits of numbers that are not integers (default 4). */
  digits?: number;
  caption?: string;
}

type Writer = (out: { data: MimeBundle; metadata: object; transient?: { display_id?: string } }, update: boolean) => void;

let jupyterModule: { lastWriteDisplayData: Writer | null } | null | undefined;

/**
 * tslab's public `display` sends one MIME type per output; its internal writer, the one the
 * kernel uses for the current cell, takes a whole bundle. Found through the kernel's module
 * cache so that it is the kernel's own instance, wherever tslab is installed.
 */
function kernelWriter(): Writer | null {
  if (jupyterModule === undefined) {
    const req = (globalThis as { __tslab__?: { require?: NodeJS.Require } }).__tslab__?.require;
    const cache = req?.cache ?? {};
    const key = Object.keys(cache).find((k) => k.endsWith(`${sep}tslab${sep}dist${sep}jupyter.js`));
    jupyterModule = key ? (cache[key]?.exports as typeof jupyterModule) : null;
  }
  return jupyterModule?.lastWriteDisplayData ?? null;
}

/** Whether code runs inside the tslab kernel (so rich outputs reach a notebook). */
export function inKernel(): boolean {
  return kernelWriter() !== null;
}

/** Sends a bundle as one output; with `displayId`, `update: true` overwrites that output in place. */
export function displayBundle(data: MimeBundle, options: { displayId?: string; update?: boolean } = {}): void {
  checkObject("displayBundle", "data", data, 'a MIME bundle such as { "text/plain": "…" }');
  const write = kernelWriter();
  if (!write) {
    const text = data["text/plain"];
    if (typeof text === "string") console.log(text);
    return;
  }
  write({ data, metadata: {}, transient: options.displayId ? { display_id: options.displayId } : {} }, options.update ?? false);
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

let plotCount = 0;

/** The name `npm run kernel` registers the course's kernel under; its spec folder also holds plotly.js. */
export const COURSE_KERNEL_NAME = "tslab-course";

/** What a chart says in Jupyter where plotly.js could not be loaded, instead of an empty box. */
const PLOTLY_MISSING =
  "This chart needs plotly.js, which the page loads from the course kernel's folder, and it was not found. " +
  "Run <code>npm run kernel</code> once in the course folder, then reload this page and re-run the cell.";

/** What it says on a page that is not Jupyter (a notebook shown on GitHub or nbviewer, a saved page), where no kernel's folder exists. */
const PLOTLY_OUTSIDE_JUPYTER =
  "This chart is drawn by plotly.js when the notebook runs in Jupyter. To see it, open the lesson in the course site " +
  "(<code>npm run course</code> builds it, with every chart) or run the lesson in Jupyter.";

/**
 * The page's plotly.js, loaded once per page from the kernel spec's folder, which Jupyter
 * serves at <base>/kernelspecs/<name>/ (classic Notebook, JupyterLab, Notebook 7). Charts never
 * carry the library: a notebook stays small, a live chart sends only its data, and a page
 * reloaded after "clear outputs" still finds it.
 */
const plotlyLoader = `function coursePlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__coursePlotly) {
    // Jupyter's pages say where they are served from: classic Notebook in data-base-url, JupyterLab and Notebook 7 in jupyter-config-data.
    var base = document.body.getAttribute("data-base-url"), config = document.getElementById("jupyter-config-data");
    if (!base && config) { try { base = JSON.parse(config.textContent).baseUrl; } catch (e) { base = "/"; } }
    if (!base) return Promise.reject("not jupyter");
    window.__coursePlotly = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = base.replace(/\\/?$/, "/") + "kernelspecs/${COURSE_KERNEL_NAME}/plotly.min.js";
      s.onload = function () { window.Plotly ? resolve(window.Plotly) : reject(); };
      s.onerror = function () { window.__coursePlotly = null; reject(); };
      document.head.appendChild(s);
    });
  }
  return window.__coursePlotly;
}`;

/** The note a chart shows in its place when it cannot be drawn. */
const missingNote = (text: string) => `<p class="course-plot-missing" style="padding:0.5em;border:1px solid #e0b4b4;background:#fff6f6">${text}</p>`;

/**
 * A Plotly figure as one output: the Plotly MIME type (JupyterLab with jupyterlab-plotly,
 * VS Code), an HTML version that draws itself with the page's plotly.js (classic Notebook,
 * JupyterLab without the extension) and a text summary.
 */
export function plotBundle(figure: PlotlyFigure, options: { divId: string }): MimeBundle {
  checkObject("plot", "figure", figure, "a Plotly figure { data: [traces], layout } (chart() builds one)");
  if (!Array.isArray(figure.data)) throw new Error(`plot: figure.data must be an array of traces; got ${typeof figure.data}`);
  const height = Number(figure.layout?.height ?? 420);
  if (!Number.isFinite(height) || height <= 0) throw new Error(`plot: layout.height must be a positive number of pixels; got ${shown(figure.layout?.height)}`);
  // Figures built by hand (a heatmap of categories) get the room for labels that chart() gives.
  const { layout } = roomForLabels(figure);
  const spec = { data: figure.data, layout: layout ?? {}, config: { responsive: true, ...figure.config } };
  const draw = `<div id="${options.divId}" style="width:100%;height:${height}px"></div>
<script type="text/javascript">(function () {
  var spec = ${scriptJson(spec)};
  ${plotlyLoader}
  var div = document.getElementById("${options.divId}");
  if (!div) return;
  coursePlotly().then(function (Plotly) {
    var still = div.previousElementSibling;
    if (still && still.className === "course-static") still.remove(); // the PNG stand-in, for readers without JavaScript
    Plotly.newPlot(div, spec.data, spec.layout, spec.config);
  }, function (why) {
    div.style.height = "auto";
    div.innerHTML = why === "not jupyter" ? ${scriptJson(missingNote(PLOTLY_OUTSIDE_JUPYTER))} : ${scriptJson(missingNote(PLOTLY_MISSING))};
  });
})();</script>`;
  const title = (figure.layout?.title as { text?: string } | string | undefined);
  const titleText = typeof title === "string" ? title : title?.text;
  return {
    "application/vnd.plotly.v1+json": spec,
    "text/html": draw,
    "text/plain": `<Plotly figure${titleText ? ` "${titleText}"` : ""}: ${figure.data.length} trace(s)>`,
  };
}

/** Pixels between a category axis' tick labels and its title. */
export const CATEGORY_TITLE_STANDOFF = 12;

/**
 * A figure whose category axes leave room for their labels. Plotly turns long tick labels
 * sideways and, unless the axis has automargin, draws them over the axis title, as the
 * method names of lesson 01 were. Every axis that shows strings (or is typed "category") gets
 * `automargin` and a standoff for its title, unless the figure already sets them. Returns a new
 * figure; the one given is left as it is.
 */
export function roomForLabels(figure: PlotlyFigure): PlotlyFigure {
  const layout: Record<string, unknown> = { ...figure.layout };
  const categorical = new Set<string>();
  for (const trace of figure.data as Record<string, unknown>[]) {
    if (trace === null || typeof trace !== "object") continue;
    for (const letter of ["x", "y"]) {
      const values = trace[letter];
      if (!Array.isArray(values) || !values.some((v) => typeof v === "string")) continue;
      // A trace on a second axis ("x2") is drawn on layout.xaxis2.
      const axis = typeof trace[`${letter}axis`] === "string" ? (trace[`${letter}axis`] as string) : letter;
      categorical.add(`${letter}axis${axis.slice(1)}`);
    }
  }
  for (const [key, value] of Object.entries(layout)) {
    if (/^[xy]axis\d*$/.test(key) && (value as { type?: unknown } | null)?.type === "category") categorical.add(key);
  }
  if (categorical.size === 0) return figure;
  for (const key of categorical) {
    const axis = { ...(layout[key] as Record<string, unknown> | undefined) };
    const title = typeof axis.title === "string" ? { text: axis.title } : (axis.title as Record<string, unknown> | undefined);
    layout[key] = {
      ...axis,
      automargin: axis.automargin ?? true,
      ...(title ? { title: { ...title, standoff: title.standoff ?? CATEGORY_TITLE_STANDOFF } } : {}),
    };
  }
  return { ...figure, layout };
}

/** Shows a Plotly figure: `plot({ data: [{ x, y, type: "scatter" }], layout: { title: { text: "Loss" } } })`. */
export function plot(figure: PlotlyFigure): void {
  displayBundle(plotBundle(figure, { divId: `course-plot-${process.pid}-${++plotCount}` }));
}

export interface LivePlot {
  /** Redraws the chart in place with a new figure (throttled; the last one always shows after done()). */
  update(figure: PlotlyFigure): void;
  done(): void;
}

/** A chart that redraws itself in place while a loop runs: a live loss curve. */
export function livePlot(options: { minIntervalMs?: number } = {}): LivePlot {
  const displayId = `course-live-${process.pid}-${++plotCount}`;
  const divId = `${displayId}-div`;
  const live = inKernel();
  const minInterval = options.minIntervalMs ?? 1000;
  let latest: PlotlyFigure | null = null;
  let drawn: PlotlyFigure | null = null;
  let lastDrawn = -Infinity;
  const draw = () => {
    if (!latest || latest === drawn) return;
    displayBundle(plotBundle(latest, { divId }), { displayId, update: drawn !== null });
    drawn = latest;
    lastDrawn = Date.now();
  };
  return {
    update(figure) {
      latest = figure;
      // Outside a notebook nothing redraws; done() prints the final chart's summary.
      if (live && Date.now() - lastDrawn >= minInterval) draw();
    },
    done() {
      draw();
    },
  };
}

/**
 * Columns and rows of records: the union of their keys in first-seen order, a key a record lacks
 * left blank. A value prints as it would in a danfojs DataFrame of the same records (null as
 * "null", booleans as true/false), so a lesson prints the same either way.
 */
function fromRecords(records: readonly unknown[]): { columns: string[]; rows: unknown[][]; index?: undefined } {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const [i, record] of records.entries()) {
    checkObject("table", `rows[${i}]`, record, "a record such as { model: \"tiny\", loss: 2.1 }");
    for (const key of Object.keys(record as object)) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  if (columns.length === 0) throw new Error(`table: rows must be a non-empty array of records with at least one key (the columns); got ${shown(records)}`);
  const rows = records.map((record) => columns.map((c) => (Object.prototype.hasOwnProperty.call(record, c) ? (record as Record<string, unknown>)[c] : "")));
  return { columns, rows };
}

function rowsOf(input: TableInput<unknown>): { columns: string[]; rows: unknown[][]; index?: (string | number)[] } {
  if (Array.isArray(input)) return fromRecords(input);
  checkObject("table", "the table", input, "an array of records or { columns, values } (a danfo DataFrame, say)");
  const df = input as TableLike;
  const values = df.values;
  if (!Array.isArray(df.columns) || df.columns.length === 0) throw new Error(`table: columns must be a non-empty array of column names; got ${shown(df.columns)}`);
  if (!Array.isArray(values)) throw new Error(`table: values must be an array of rows; got ${shown(values)}`);
  // A one-column frame or a Series gives a flat array.
  const rows = values.map((row) => (Array.isArray(row) ? row : [row]));
  if (df.index !== undefined && !(Array.isArray(df.index) && df.index.length === rows.length)) {
    throw new Error(`table: index must be an array of one label per row (${rows.length}); got ${shown(df.index)}`);
  }
  return { columns: df.columns, rows, index: df.index };
}

function formatCell(value: unknown, digits: number): string {
  if (typeof value === "number" && !Number.isInteger(value)) return value.toPrecision(digits);
  return String(value);
}

/** Records or a DataFrame as HTML (rendered in notebooks) and aligned text. */
export function tableBundle(input: TableLike, options?: TableOptions): MimeBundle;
export function tableBundle<T extends Row<T>>(input: readonly T[], options?: TableOptions): MimeBundle;
export function tableBundle<T extends Row<T>>(input: TableInput<T>, options: TableOptions = {}): MimeBundle {
  const digits = options.digits ?? 4;
  if (!(Number.isInteger(digits) && digits >= 1 && digits <= 21)) throw new Error(`table: digits must be an integer from 1 to 21 (significant digits); got ${shown(digits)}`);
  const { columns, rows, index: given } = rowsOf(input);
  for (const [i, row] of rows.entries()) {
    if (row.length !== columns.length) {
      throw new Error(`table: row ${i} has ${row.length} values but there are ${columns.length} columns (${columns.join(", ")})`);
    }
  }
  const index = given ?? rows.map((_, i) => i);
  // danfojs numbers rows 0, 1, 2, … by default: a column that says nothing, so it is left out.
  const showIndex = !index.every((v, i) => v === i);
  const cells = rows.map((row) => row.map((v) => formatCell(v, digits)));
  const head = (i: number) => (showIndex ? `<th>${escapeHtml(index[i])}</th>` : "");
  const html = [
    `<table class="dataframe course-table">`,
    options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "",
    `<thead><tr>${showIndex ? "<th></th>" : ""}${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead>`,
    `<tbody>`,
    ...cells.map((row, i) => `<tr>${head(i)}${row.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`),
    `</tbody></table>`,
  ].join("\n");
  const grid = [[...(showIndex ? [""] : []), ...columns], ...cells.map((row, i) => [...(showIndex ? [String(index[i])] : []), ...row])];
  const widths = grid[0].map((_, j) => Math.max(...grid.map((r) => r[j].length)));
  const text = grid.map((r) => r.map((v, j) => v.padStart(widths[j])).join("  ")).join("\n");
  return { "text/html": html, "text/plain": options.caption ? `${options.caption}\n${text}` : text };
}

/**
 * Shows rows as a table: `table([{ model: "tiny", loss: 2.31 }, { model: "small", loss: 2.05 }], { digits: 3 })`.
 * Takes an array of records (columns: their keys, in first-seen order) or a danfojs DataFrame.
 */
export function table(input: TableLike, options?: TableOptions): void;
export function table<T extends Row<T>>(input: readonly T[], options?: TableOptions): void;
export function table<T extends Row<T>>(input: TableInput<T>, options: TableOptions = {}): void {
  displayBundle(tableBundle(input as TableLike, options));
}

export interface ProgressState {
  step: number;
  total: number;
  /** Extra numbers to show, e.g. { loss: 1.92 }. */
  values?: Record<string, number>;
}

/** 0.4 → "0.4 s", 75 → "1 min 15 s", 4000 → "1 h 07 min": a duration at the precision worth reading. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export function progressBundle(label: string, state: ProgressState, elapsedSeconds: number): MimeBundle {
  const fraction = state.total > 0 ? Math.min(1, state.step / state.total) : 0;
  const extras = Object.entries(state.values ?? {}).map(([k, v]) => `${k} ${formatCell(v, 4)}`);
  // A guess from the first second of a run (warm-up, a cached step) says nothing; wait for more.
  const eta = fraction > 0 && fraction < 1 && elapsedSeconds >= 2 ? elapsedSeconds * (1 / fraction - 1) : null;
  const timing = `${formatDuration(elapsedSeconds)}${eta !== null ? `, ~${formatDuration(eta)} left` : ""}`;
  const summary = [`${state.step}/${state.total}`, ...extras, timing].join(" · ");
  const width = 30;
  const filled = Math.round(fraction * width);
  return {
    "text/html": `<div class="course-progress"><b>${escapeHtml(label)}</b> <progress value="${state.step}" max="${state.total}"></progress> ${escapeHtml(summary)}</div>`,
    "text/plain": `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${summary}`,
  };
}

/** Progress outputs' display ids start with this, so a runner can show a running cell's progress. */
export const PROGRESS_DISPLAY_PREFIX = "course-progress-";

export interface Progress {
  update(state: ProgressState): void;
  /** Draws the final state, whatever the throttle skipped. */
  done(): void;
}

/**
 * A progress line that overwrites itself in the notebook. Updates are throttled so that a
 * fast loop does not flood the kernel; outside a kernel it prints at most every few seconds.
 */
export function progress(label: string, options: { minIntervalMs?: number } = {}): Progress {
  const displayId = `${PROGRESS_DISPLAY_PREFIX}${process.pid}-${++plotCount}`;
  const live = inKernel();
  const minInterval = options.minIntervalMs ?? (live ? 250 : 5000);
  const started = Date.now();
  let last: ProgressState | null = null;
  let lastDrawn = -Infinity;
  let drawnOnce = false;
  const draw = () => {
    if (!last) return;
    displayBundle(progressBundle(label, last, (Date.now() - started) / 1000), { displayId, update: drawnOnce });
    drawnOnce = live;
    lastDrawn = Date.now();
  };
  return {
    update(state) {
      const { step, total } = state;
      if (!(Number.isFinite(total) && total > 0 && Number.isFinite(step) && step >= 0 && step <= total)) {
        throw new Error(`progress ${shown(label)}: step must be a number in [0, total] and total a positive number; got step ${shown(step)} of ${shown(total)}`);
      }
      last = state;
      if (Date.now() - lastDrawn >= minInterval) draw();
    },
    done() {
      draw();
    },
  };
}
