import { describe, expect, it } from "vitest";

import { COLORS, chart, movingAverage } from "../lib/core/chart";
import { CATEGORY_TITLE_STANDOFF, plotBundle, roomForLabels } from "../lib/core/display";

describe("chart", () => {
  it("builds a Plotly figure from arrays and labels", () => {
    const fig = chart([
      { name: "train", x: Float64Array.from([1, 10, 100]), y: [3, 2, 1], error: [0.1, 0.1, 0.2] },
      { name: "power law", x: [1, 100], y: [3, 1], mode: "lines", look: "reference", trace: { yaxis: "y2" } },
    ], { title: "Loss", x: "tokens", y: "loss", logX: true, height: 300, yRange: [0, 4] });
    expect(fig.data).toEqual([
      { type: "scatter", x: [1, 10, 100], y: [3, 2, 1], name: "train", mode: "lines+markers", error_y: { type: "data", array: [0.1, 0.1, 0.2] } },
      { type: "scatter", x: [1, 100], y: [3, 1], name: "power law", mode: "lines", line: { dash: "dash", color: "grey" }, yaxis: "y2" },
    ]);
    expect(fig.layout).toEqual({
      title: { text: "Loss" }, xaxis: { title: { text: "tokens" }, type: "log" }, yaxis: { title: { text: "loss" }, range: [0, 4] }, height: 300,
      colorway: COLORS,
    });
    expect(new Set(COLORS).size).toBe(15); // a ladder of up to 15 sizes gets 15 distinct colours
  });

  it("keeps category labels in order", () => {
    const fig = chart([{ x: ["embeddings", "block 1"], y: [0.5, 0.7] }], { title: "t", x: "layer", y: "accuracy", categoricalX: true });
    expect(fig.layout!.xaxis).toEqual({ title: { text: "layer", standoff: CATEGORY_TITLE_STANDOFF }, type: "category", automargin: true });
    expect((fig.data[0] as { x: string[] }).x).toEqual(["embeddings", "block 1"]);
  });

  it("leaves room for category labels, so that long ones turned sideways do not cover the axis title", () => {
    // Lesson 01's accuracy by method: long method names on x.
    const methods = ["zero-shot (likelihood of each label)", "fine-tune (all weights)", "LoRA r=1 (attn, mlp)"];
    const byMethod = chart([{ name: "speaker", x: methods, y: [0.5, 0.8, 0.7], mode: "markers" }],
      { title: "Test accuracy by method", x: "method", y: "test accuracy", categoricalX: true, yRange: [0, 1.05] });
    const xaxis = byMethod.layout!.xaxis as { automargin: boolean; title: { text: string; standoff: number } };
    expect(xaxis.automargin).toBe(true); // Plotly grows the bottom margin to fit the labels
    expect(xaxis.title).toEqual({ text: "method", standoff: CATEGORY_TITLE_STANDOFF });
    expect(CATEGORY_TITLE_STANDOFF).toBeGreaterThan(0);
    // Strings on x make an axis of categories even without categoricalX (grouped bars).
    const bars = chart([{ x: ["head", "middle", "tail"], y: [80, 50, 20], trace: { type: "bar" } }], { title: "t", x: "group", y: "%" });
    expect(bars.layout!.xaxis).toEqual({ title: { text: "group", standoff: CATEGORY_TITLE_STANDOFF }, automargin: true });
    // A numeric axis keeps Plotly's defaults.
    expect(byMethod.layout!.yaxis).toEqual({ title: { text: "test accuracy" }, range: [0, 1.05] });
    expect(chart([{ x: [1, 2], y: [1, 2] }], { title: "t", x: "step", y: "loss" }).layout!.xaxis).toEqual({ title: { text: "step" } });
  });

  it("gives figures built by hand the same room when they are shown, keeping what they set", () => {
    const heatmap = {
      data: [{ type: "heatmap", x: ["100", "1000"], y: ["0.1", "0.5"], z: [[1, 2], [3, 4]] }],
      layout: { xaxis: { title: { text: "pool size" }, type: "category" }, yaxis: { title: "fraction kept", automargin: false } },
    };
    const spec = plotBundle(heatmap, { divId: "h" })["application/vnd.plotly.v1+json"] as { layout: Record<string, unknown> };
    expect(spec.layout.xaxis).toEqual({ title: { text: "pool size", standoff: CATEGORY_TITLE_STANDOFF }, type: "category", automargin: true });
    expect(spec.layout.yaxis).toEqual({ title: { text: "fraction kept", standoff: CATEGORY_TITLE_STANDOFF }, automargin: false });
    expect(heatmap.layout.xaxis).toEqual({ title: { text: "pool size" }, type: "category" }); // the figure given is not changed
    // A trace on a second axis marks that axis.
    const second = roomForLabels({ data: [{ x: [1, 2], y: [1, 2] }, { x: ["a", "b"], y: [1, 2], xaxis: "x2" }], layout: {} });
    expect(second.layout).toEqual({ xaxis2: { automargin: true } });
  });

  it("marks an x value with a dashed line, its label placed in log units on a log axis", () => {
    const fig = chart([{ x: [10, 1000], y: [1, 2] }], { title: "t", x: "p", y: "error", logX: true, markX: { at: 100, label: "p = n" } });
    expect(fig.layout!.shapes).toEqual([{ type: "line", x0: 100, x1: 100, yref: "paper", y0: 0, y1: 1, line: { dash: "dash", color: "grey" } }]);
    expect(fig.layout!.annotations).toEqual([{ x: 2, y: 1, yref: "paper", text: "p = n", showarrow: false, yanchor: "bottom" }]);
  });

  it("names the series whose arrays do not match", () => {
    expect(() => chart([{ name: "a", x: [1, 2], y: [1] }], { title: "t", x: "x", y: "y" })).toThrow('chart: series "a" has 2 x values but 1 y values');
    expect(() => chart([{ x: [1], y: [1], error: [1, 2] }], { title: "t", x: "x", y: "y" })).toThrow("chart: series 0 has 2 error bars for 1 points");
    expect(() => chart([{ x: 3 as unknown as number[], y: [1] }], { title: "t", x: "x", y: "y" })).toThrow("chart: series 0: x must be an array; got number");
  });
});

describe("movingAverage", () => {
  it("averages each value with the ones before it, fewer at the start", () => {
    expect(movingAverage([2, 4, 6, 8], 2)).toEqual([2, 3, 5, 7]);
    expect(movingAverage(Float32Array.from([1, 2, 3]), 5)).toEqual([1, 1.5, 2]);
    expect(() => movingAverage([1], 0)).toThrow("movingAverage: window must be a positive integer; got 0");
  });
});
