// Figures from arrays and a few labels, in the spirit of d2l's plot(): a lesson says what to draw
// and how to label it; chart() builds the Plotly figure, which plot() shows. The figure is plain
// data, so a lesson can still adjust it (a second axis, annotations) before showing it.
import { roomForLabels, type PlotlyFigure } from "./display";
import { checkAllFinite, checkObject, checkPositiveInteger, shown } from "./checks";

export interface Series {
  name?: string;
  x: ArrayLike<number> | readonly string[];
  y: ArrayLike<number>;
  /** "lines+markers" (the default), "lines" or "markers". */
  mode?: "lines" | "markers" | "lines+markers";
  /** Error bars: ± this much at each point (a standard error, a half-width). */
  error?: ArrayLike<number>;
  /** Hover text, one per point. */
  text?: readonly string[];
  /** "reference": a baseline, dashed grey; "main": the curve others are read against, thick black; "faint": light grey. */
  look?: "reference" | "main" | "faint";
  /** Any further Plotly trace properties (`yaxis: "y2"`, `marker`, …). */
  trace?: Record<string, unknown>;
}

export interface ChartOptions {
  title: string;
  /** Axis titles. */
  x: string;
  y: string;
  logX?: boolean;
  logY?: boolean;
  /** Pixels (default 420). */
  height?: number;
  yRange?: [number, number];
  /** Category axis: x values are labels, in the order given. */
  categoricalX?: boolean;
  /** A dashed vertical line with a label at its top, e.g. where a threshold lies. */
  markX?: { at: number; label: string };
}

/**
 * Series colours, in order: Plotly's ten, then five darker ones, so that a chart of up to 15
 * series (a model-size ladder) never repeats a colour.
 */
export const COLORS = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
];

const LOOKS = {
  reference: { line: { dash: "dash", color: "grey" } },
  main: { line: { color: "black", width: 3 } },
  faint: { line: { color: "lightgrey" }, marker: { color: "lightgrey" } },
} as const;

function values(name: string, field: string, a: ArrayLike<number> | readonly string[]): (number | string)[] {
  if (a === null || typeof a !== "object" || typeof a.length !== "number") {
    throw new Error(`chart: series ${name}: ${field} must be an array; got ${a === null ? "null" : typeof a}`);
  }
  return Array.from(a as ArrayLike<number | string>);
}

function markX(mark: { at: number; label: string }, logX?: boolean) {
  return {
    shapes: [{ type: "line", x0: mark.at, x1: mark.at, yref: "paper", y0: 0, y1: 1, line: LOOKS.reference.line }],
    // Annotations on a log axis are placed in log10 units.
    annotations: [{ x: logX ? Math.log10(mark.at) : mark.at, y: 1, yref: "paper", text: mark.label, showarrow: false, yanchor: "bottom" }],
  };
}

const MODES = ["lines", "markers", "lines+markers"];

/** Refuses options Plotly would silently ignore or draw wrongly. */
function checkOptions(options: ChartOptions): void {
  if (options.height !== undefined && !(Number.isFinite(options.height) && options.height > 0)) {
    throw new Error(`chart: height must be a positive number of pixels; got ${shown(options.height)}`);
  }
  const range = options.yRange;
  if (range !== undefined && !(range.length === 2 && range.every(Number.isFinite) && range[0] < range[1])) {
    throw new Error(`chart: yRange must be [low, high], two finite numbers with low < high (log10 units on a log axis); got ${shown(range)}`);
  }
  const at = options.markX?.at;
  if (at !== undefined && !(Number.isFinite(at) && (!options.logX || at > 0))) {
    throw new Error(`chart: markX.at must be a finite number${options.logX ? " > 0 on a log axis" : ""}; got ${shown(at)}`);
  }
}

/**
 * A line or scatter chart: `plot(chart([{ name: "train", x: steps, y: losses }], { title: "Loss", x: "step", y: "loss", logY: true }))`.
 * A NaN in y leaves a gap in its line (a diverged run, a missing point); an infinite y is refused.
 */
export function chart(series: Series[], options: ChartOptions): PlotlyFigure {
  if (!Array.isArray(series)) throw new Error(`chart: series must be an array of { x, y } objects; got ${typeof series}`);
  checkObject("chart", "options", options, "{ title, x, y, ... }");
  checkOptions(options);
  const data = series.map((s, i) => {
    const label = s.name ? JSON.stringify(s.name) : String(i);
    const x = values(label, "x", s.x);
    const y = values(label, "y", s.y);
    if (x.length !== y.length) throw new Error(`chart: series ${label} has ${x.length} x values but ${y.length} y values`);
    if (s.error && s.error.length !== y.length) throw new Error(`chart: series ${label} has ${s.error.length} error bars for ${y.length} points`);
    const infinite = y.findIndex((v) => v === Infinity || v === -Infinity);
    if (infinite >= 0) throw new Error(`chart: series ${label}: y[${infinite}] is ${y[infinite]}; plot finite values (NaN leaves a gap)`);
    if (s.mode !== undefined && !MODES.includes(s.mode)) throw new Error(`chart: series ${label}: mode must be one of ${MODES.join(", ")}; got ${shown(s.mode)}`);
    if (s.look !== undefined && !(s.look in LOOKS)) throw new Error(`chart: series ${label}: look must be one of ${Object.keys(LOOKS).join(", ")}; got ${shown(s.look)}`);
    return {
      type: "scatter", x, y, name: s.name, mode: s.mode ?? "lines+markers",
      ...(s.error ? { error_y: { type: "data", array: Array.from(s.error) } } : {}),
      ...(s.text ? { text: [...s.text] } : {}),
      ...(s.look ? LOOKS[s.look] : {}),
      ...s.trace,
    };
  });
  const axis = (title: string, log?: boolean) => ({ title: { text: title }, ...(log ? { type: "log" } : {}) });
  return roomForLabels({
    data,
    layout: {
      title: { text: options.title },
      xaxis: options.categoricalX ? { title: { text: options.x }, type: "category" } : axis(options.x, options.logX),
      yaxis: { ...axis(options.y, options.logY), ...(options.yRange ? { range: options.yRange } : {}) },
      height: options.height ?? 420,
      colorway: COLORS,
      ...(options.markX ? markX(options.markX, options.logX) : {}),
    },
  });
}

/** The mean of each value and the `window − 1` before it (fewer at the start): a noisy curve made readable. */
export function movingAverage(xs: ArrayLike<number>, window: number): number[] {
  if (xs === null || typeof xs !== "object" || typeof xs.length !== "number") throw new Error(`movingAverage: xs must be an array of numbers; got ${shown(xs)}`);
  checkPositiveInteger("movingAverage", "window", window);
  // One NaN would blank the next `window` points without saying why.
  checkAllFinite("movingAverage", "xs", xs);
  return Array.from(xs, (_, i) => {
    const from = Math.max(0, i - window + 1);
    let sum = 0;
    for (let j = from; j <= i; j++) sum += xs[j];
    return sum / (i - from + 1);
  });
}
