import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import type { Notebook, Output } from "../tools/notebook";
import { readNotebook } from "../tools/notebook";
import { buildSite, embedStaticFigures, lessonTitle, PLOTLY_MIME, renderIndex, renderLesson, renderMarkdown, renderOutput } from "../tools/site";
import { fixtureDir } from "./fixtures";

const chartIds = () => {
  let n = 0;
  return () => `fig${++n}`;
};

function notebook(cells: Notebook["cells"], course?: Record<string, unknown>): Notebook {
  return { nbformat: 4, nbformat_minor: 5, metadata: course ? { course } : {}, cells };
}

describe("markdown", () => {
  it("renders maths with KaTeX and leaves markdown inside formulas alone", () => {
    const html = renderMarkdown("Loss $L_i = a_i * b_i$ and\n\n$$\\frac{\\alpha}{r} A B$$\n\nplain *emphasis*.");
    expect(html).toContain('<span class="katex">');
    expect(html).toContain('<span class="katex-display">');
    expect(html).toContain("<em>emphasis</em>");
    expect(html).not.toContain("<em>i = a</em>"); // "_i … a_" would be emphasis if markdown saw the formula
    expect(html).not.toContain("$");
  });

  it("does not read dollars in code as maths", () => {
    const html = renderMarkdown("Set `$COURSE_SCALE` or `$HOME`, then\n\n```bash\necho $A $B\n```");
    expect(html).toContain("<code>$COURSE_SCALE</code>");
    expect(html).toContain("echo $A $B");
    expect(html).not.toContain("katex");
  });
});

describe("outputs", () => {
  it("escapes text and marks stderr", () => {
    expect(renderOutput({ output_type: "stream", name: "stdout", text: "a < b && \u001b[31mred\u001b[0m" }, chartIds())).toBe(
      '<pre class="output stream stdout">a &lt; b &amp;&amp; red</pre>',
    );
    expect(renderOutput({ output_type: "stream", name: "stderr", text: "oops" }, chartIds())).toContain("stderr");
  });

  it("turns a Plotly output into a chart placeholder whose JSON cannot close its script element", () => {
    const figure = { data: [{ x: [1, 2], y: [3, 4], name: "</script><b>" }], layout: {} };
    const output: Output = { output_type: "display_data", data: { [PLOTLY_MIME]: figure, "text/html": "<script>fallback</script>", "text/plain": "chart" }, metadata: {} };
    const html = renderOutput(output, chartIds());
    expect(html).toContain('<div class="plotly-chart" id="fig1"></div>');
    expect(html).not.toContain("fallback"); // the site draws from the JSON, not from the notebook's self-drawing HTML
    const json = html.match(/<script type="application\/json" data-chart="fig1">([\s\S]*?)<\/script>/)![1];
    expect(JSON.parse(json)).toEqual(figure);
    expect(html).toContain('src="figures/fig1.png"');
  });

  it("prefers HTML to plain text, and embeds images", () => {
    expect(renderOutput({ output_type: "display_data", data: { "text/html": "<table></table>", "text/plain": "t" }, metadata: {} }, chartIds())).toBe(
      '<div class="output html"><table></table></div>',
    );
    expect(renderOutput({ output_type: "display_data", data: { "image/png": "iVBO\nRw==" }, metadata: {} }, chartIds())).toContain('src="data:image/png;base64,iVBORw=="');
  });
});

describe("pages", () => {
  const lesson = notebook([
    { cell_type: "markdown", source: "# 07 · A lesson\n\nProse.", metadata: {} },
    { cell_type: "code", source: "const a = 1 < 2;", metadata: { course: { seconds: 0.25 } }, outputs: [{ output_type: "stream", name: "stdout", text: "true\n" }] },
  ], { scale: "smoke", ok: true, seconds: 12.5, executedAt: "2026-11-26T10:00:00.000Z" });

  it("titles a lesson by its first heading and shows its code, outputs, scale and run time", () => {
    expect(lessonTitle(lesson, "07-a")).toBe("07 · A lesson");
    expect(lessonTitle(notebook([]), "07-a")).toBe("07-a");
    const page = { name: "07-a", title: "07 · A lesson", notebook: lesson };
    const html = renderLesson(page, undefined, { ...page, name: "08-b", title: "08 · Next" });
    expect(html).toContain("<h1>07 · A lesson</h1>");
    expect(html).toContain("const a = 1 &lt; 2;");
    expect(html).toContain("cell 2 · 0.3 s");
    expect(html).toContain("<b>smoke</b> scale in 12.5 s");
    expect(html).toContain('<a rel="next" href="08-b.html">08 · Next →</a>');
    const index = renderIndex([page]);
    expect(index).toContain('<a href="07-a.html">07 · A lesson</a></td><td>smoke</td><td>12.5 s</td><td>ok</td>');
  });

  it("builds the site from a folder of executed notebooks with its assets, and refuses an empty folder", () => {
    const dir = fixtureDir();
    const from = join(dir, "executed");
    mkdirSync(from);
    for (const name of ["01-b", "00-a"]) {
      const nb = notebook([...lesson.cells, {
        cell_type: "code", source: "plot()", metadata: {},
        outputs: [{ output_type: "display_data", data: { [PLOTLY_MIME]: { data: [{ y: [1] }], layout: {} } }, metadata: {} }],
      }], lesson.metadata.course);
      writeFileSync(join(from, `${name}.ipynb`), JSON.stringify(nb));
    }
    const to = join(dir, "site");
    const site = buildSite(from, to);
    expect(site).toEqual({ pages: ["index.html", "00-a.html", "01-b.html"], charts: 2 });
    expect(readFileSync(join(to, "00-a.html"), "utf8")).toContain('id="00-a-fig1"');
    for (const asset of ["assets/plotly.min.js", "assets/katex/katex.min.css", "assets/site.js", "assets/site.css"]) expect(existsSync(join(to, asset))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    mkdirSync(join(dir, "empty"));
    expect(() => buildSite(join(dir, "empty"), join(dir, "site2"))).toThrow("site: no executed lessons (*.ipynb) in");
    expect(() => buildSite(join(dir, "missing"), join(dir, "site2"))).toThrow("run `npm run course` first");
  });

  it("embeds each chart's PNG in the executed notebook, before the self-drawing HTML, once", () => {
    const dir = fixtureDir();
    const chart = (html: string): Output => ({ output_type: "display_data", data: { [PLOTLY_MIME]: { data: [{ y: [1] }] }, "text/html": html }, metadata: {} });
    writeFileSync(join(dir, "02-c.ipynb"), JSON.stringify(notebook([
      { cell_type: "code", source: "", metadata: {}, outputs: [chart('<script>lib</script>\n<div id="a"></div><script>draw</script>'), { output_type: "stream", name: "stdout", text: "x" }] },
      { cell_type: "code", source: "", metadata: {}, outputs: [chart('<div id="b"></div><script>draw</script>')] },
    ])));
    mkdirSync(join(dir, "figures"));
    writeFileSync(join(dir, "figures", "02-c-fig1.png"), Buffer.from([1, 2, 3]));
    writeFileSync(join(dir, "figures", "02-c-fig2.png"), Buffer.from([4, 5]));
    expect(embedStaticFigures(dir, join(dir, "figures"))).toBe(2);
    expect(embedStaticFigures(dir, join(dir, "figures"))).toBe(2);
    const [first, second] = readNotebook(join(dir, "02-c.ipynb")).cells.map((c) => c.outputs![0] as Extract<Output, { output_type: "display_data" }>);
    expect(first.data["image/png"]).toBe("AQID");
    expect(first.data["text/html"]).toBe('<script>lib</script>\n<img class="course-static" src="data:image/png;base64,AQID" alt="chart" style="max-width:100%"><div id="a"></div><script>draw</script>');
    expect(second.data["image/png"]).toBe("BAU=");
  });
});
