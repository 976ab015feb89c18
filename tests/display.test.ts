import * as dfd from "danfojs-node";
import { afterEach, describe, expect, it, vi } from "vitest";

import { formatDuration, livePlot, plotBundle, progress, progressBundle, tableBundle } from "../lib/core/display";

afterEach(() => vi.restoreAllMocks());

describe("plotBundle", () => {
  const figure = { data: [{ x: [1, 2, 3], y: [2, 4, 8], type: "scatter" }], layout: { title: { text: "growth </script>" }, height: 300 } };

  it("carries the Plotly MIME type, a self-drawing HTML fallback and a text summary in one bundle", () => {
    const b = plotBundle(figure, { divId: "fig-1" });
    expect(b["application/vnd.plotly.v1+json"]).toEqual({ data: figure.data, layout: figure.layout, config: { responsive: true } });
    const html = b["text/html"] as string;
    expect(html).toContain(`<div id="fig-1" style="width:100%;height:300px"></div>`);
    expect(html).toContain(`Plotly.newPlot(div, spec.data`);
    // A title containing </script> must not end the script element early.
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html).toContain("growth \\u003c/script>");
    expect(b["text/plain"]).toBe(`<Plotly figure "growth </script>": 1 trace(s)>`);
  });

  it("never carries plotly.js: the page loads it once from the kernel's folder, or the chart says how to fix that", () => {
    const html = plotBundle(figure, { divId: "fig-2" })["text/html"] as string;
    expect(html).not.toContain("plotly.js v");
    expect(html.length).toBeLessThan(5_000);
    expect(html).toContain(`"kernelspecs/tslab-course/plotly.min.js"`);
    expect(html).toContain("npm run kernel");
    // The drawing script is valid JavaScript (the message's apostrophes are escaped).
    const script = html.slice(html.indexOf("<script"), html.lastIndexOf("</script>")).replace(/^<script[^>]*>/, "");
    expect(() => new Function(script)).not.toThrow();
  });

  it("rejects a height that is not a positive number of pixels", () => {
    expect(() => plotBundle({ data: [], layout: { height: "tall" } }, { divId: "f" })).toThrow('plot: layout.height must be a positive number of pixels; got "tall"');
  });

  it("rejects a figure without a data array", () => {
    expect(() => plotBundle({ data: "x" as unknown as object[] }, { divId: "f" })).toThrow(
      "plot: figure.data must be an array of traces; got string",
    );
  });
});

describe("tableBundle", () => {
  it("renders a danfojs DataFrame as an escaped HTML table and aligned text, without its bare 0…n index", () => {
    const df = new dfd.DataFrame({ model: ["tiny", "<b>big</b>"], loss: [2.3456789, 1.5], params: [1000, 250000] });
    const b = tableBundle(df, { digits: 3, caption: "Runs" });
    const html = b["text/html"] as string;
    expect(html).toContain("<caption>Runs</caption>");
    expect(html).toContain("<thead><tr><th>model</th><th>loss</th><th>params</th></tr></thead>");
    expect(html).toContain("<tr><td>tiny</td><td>2.35</td><td>1000</td></tr>");
    expect(html).toContain("<td>&lt;b&gt;big&lt;/b&gt;</td>");
    expect(b["text/plain"]).toBe(["Runs", "     model  loss  params", "      tiny  2.35    1000", "<b>big</b>  1.50  250000"].join("\n"));
  });

  it("keeps an index that means something", () => {
    const b = tableBundle({ columns: ["loss"], values: [[2], [1]], index: ["small", "large"] });
    expect(b["text/html"]).toContain("<tr><th>small</th><td>2</td></tr>");
    expect(b["text/plain"]).toBe(["       loss", "small     2", "large     1"].join("\n"));
  });

  it("prints an array of records exactly as a DataFrame of the same records", () => {
    // Integers, digits, strings that look like numbers, booleans, null, NaN, -0 and large values.
    const rows = [
      { model: "tiny", loss: 2.3456789, params: 1000, tuned: true, note: null, ratio: NaN, big: 1e21, zero: -0, text: "1.5" },
      { model: "<b>big</b>", loss: 1.5, params: 250000, tuned: false, note: "kept", ratio: 0.000123456, big: -Infinity, zero: 3, text: "" },
    ];
    for (const options of [{}, { digits: 3, caption: "Runs" }, { digits: 8 }]) {
      expect(tableBundle(rows, options)).toEqual(tableBundle(new dfd.DataFrame(rows), options));
    }
    expect(tableBundle(rows, { digits: 3 })["text/plain"]).toBe([
      "     model  loss  params  tuned  note     ratio        big  zero  text",
      "      tiny  2.35    1000   true  null       NaN      1e+21     0   1.5",
      "<b>big</b>  1.50  250000  false  kept  0.000123  -Infinity     3      ",
    ].join("\n"));
    // The keys' order is the columns' order, integer-like keys first as in Object.keys.
    const odd = [{ "2": 1, b: 2.25, "1": 3 }];
    expect(tableBundle(odd)).toEqual(tableBundle(new dfd.DataFrame(odd)));
    expect(tableBundle(odd)["text/plain"]).toBe(["1  2      b", "3  1  2.250"].join("\n"));
    // An interface (no index signature) is accepted as a record.
    interface Line { component: string; value: string }
    const lines: Line[] = [{ component: "Node.js", value: "v20" }];
    expect(tableBundle(lines)["text/plain"]).toBe(["component  value", "  Node.js    v20"].join("\n"));
  });

  it("takes as columns the union of the records' keys, in first-seen order, leaving a missing key blank", () => {
    // A DataFrame would take its columns from the first record and misplace the later ones.
    const b = tableBundle([{ a: 1, b: 2 }, { c: 3, a: 4 }, { b: 5 }]);
    expect(b["text/plain"]).toBe(["a  b  c", "1  2   ", "4     3", "   5   "].join("\n"));
    expect(b["text/html"]).toContain("<tr><td>4</td><td></td><td>3</td></tr>");
  });

  it("rejects rows that do not match the columns", () => {
    expect(() => tableBundle({ columns: ["a", "b"], values: [[1, 2], [3]] })).toThrow("table: row 1 has 1 values but there are 2 columns (a, b)");
  });
});

describe("progress", () => {
  it("formats step, values and the time left", () => {
    const b = progressBundle("train", { step: 25, total: 100, values: { loss: 1.23456 } }, 10);
    expect(b["text/plain"]).toBe(`train [${"#".repeat(8)}${".".repeat(22)}] 25/100 · loss 1.235 · 10 s, ~30 s left`);
    expect(b["text/html"]).toContain(`<progress value="25" max="100"></progress>`);
  });

  it("guesses the time left only once a run has gone on for a while", () => {
    expect(progressBundle("tune", { step: 1, total: 7 }, 0.3)["text/plain"]).toMatch(/1\/7 · 0\.3 s$/);
    expect(progressBundle("tune", { step: 1, total: 7 }, 90)["text/plain"]).toMatch(/1\/7 · 1 min 30 s, ~9 min 00 s left$/);
  });

  it("writes durations at the precision worth reading", () => {
    expect([0.42, 9.95, 59.4, 75, 3599.6, 4000].map(formatDuration)).toEqual(["0.4 s", "9.9 s", "59 s", "1 min 15 s", "1 h 00 min", "1 h 07 min"]);
  });

  it("outside a kernel, prints throttled lines and always the final state", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const bar = progress("loop", { minIntervalMs: 60_000 });
    for (let i = 1; i <= 1000; i++) bar.update({ step: i, total: 1000 });
    bar.done();
    expect(log).toHaveBeenCalledTimes(2);
    expect(log.mock.calls[0][0]).toMatch(/^loop \[\.+\] 1\/1000/);
    expect(log.mock.calls[1][0]).toMatch(/^loop \[#{30}\] 1000\/1000/);
  });
});

describe("livePlot", () => {
  it("outside a kernel, prints only the final figure's summary once", () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const chart = livePlot({ minIntervalMs: 0 });
    for (let i = 1; i <= 5; i++) chart.update({ data: Array.from({ length: i }, () => ({ x: [1], y: [i] })), layout: { title: { text: "loss" } } });
    chart.done();
    expect(log.mock.calls).toEqual([[`<Plotly figure "loss": 5 trace(s)>`]]);
  });
});
