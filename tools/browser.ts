// Opens the built course site in headless Chromium: every page must load without console
// errors and every Plotly chart must draw. Saves a screenshot of each page and a PNG of each
// chart (the static figures for places that cannot run JavaScript).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { chromium, type BrowserContext } from "playwright-core";

/** Flags that keep Chromium quiet and offline on a headless, sandbox-less CI machine. */
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** The Chromium to drive: $CHROMIUM_PATH, else Debian's. Null when there is none. */
export function findChromium(): string | null {
  for (const path of [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (path && existsSync(path)) return path;
  }
  return null;
}

/** Headless Chromium with a fresh profile; `close` also removes the profile. */
export async function launchChromium(viewport = { width: 1100, height: 900 }): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error("no Chromium found (set CHROMIUM_PATH, or on Debian: apt-get install chromium)");
  const profile = mkdtempSync(join(tmpdir(), "course-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface ChartCheck {
  id: string;
  /** Traces Plotly drew (0 means an empty chart). */
  traces: number;
  /** Whether the plot area has a drawn size. */
  drawn: boolean;
}

export interface PageCheck {
  page: string;
  errors: string[];
  charts: ChartCheck[];
  screenshot: string;
}

export interface SiteCheck {
  ok: boolean;
  pages: PageCheck[];
}

/** Loads every page of the site in `dir`; writes screenshots/ and figures/ beside the pages. */
export async function checkSite(dir: string, pages?: string[]): Promise<SiteCheck> {
  const site = resolve(dir);
  const names = pages ?? readdirSync(site).filter((f) => f.endsWith(".html")).sort();
  mkdirSync(join(site, "screenshots"), { recursive: true });
  mkdirSync(join(site, "figures"), { recursive: true });
  const browser = await launchChromium();
  const context = browser.context;
  const results: PageCheck[] = [];
  try {
    for (const name of names) {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("requestfailed", (r) => errors.push(`failed to load ${r.url()}: ${r.failure()?.errorText}`));
      await page.goto(pathToFileURL(join(site, name)).href, { waitUntil: "load" });
      const ids = await page.$$eval("script[data-chart]", (els) => els.map((e) => e.getAttribute("data-chart")!));
      const charts: ChartCheck[] = [];
      for (const id of ids) {
        const chart = page.locator(`[id="${id}"]`);
        try {
          await page.waitForSelector(`[id="${id}"][data-rendered="true"]`, { timeout: 30_000 });
        } catch {
          errors.push(`chart ${id} did not finish drawing within 30 s`);
        }
        const state = await chart.evaluate((el) => {
          const data = (el as unknown as { _fullData?: unknown[] })._fullData ?? [];
          const svg = el.querySelector(".main-svg");
          const box = svg?.getBoundingClientRect();
          return { traces: data.length, drawn: !!box && box.width > 0 && box.height > 0 };
        });
        charts.push({ id, ...state });
        if (state.drawn) await chart.screenshot({ path: join(site, "figures", `${id}.png`) });
      }
      const screenshot = join(site, "screenshots", name.replace(/\.html$/, ".png"));
      await page.screenshot({ path: screenshot, fullPage: false });
      results.push({ page: name, errors, charts, screenshot });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  const ok = results.every((p) => p.errors.length === 0 && p.charts.every((c) => c.traces > 0 && c.drawn));
  return { ok, pages: results };
}

export function describeSiteCheck(report: SiteCheck): string {
  const lines = report.pages.map((p) => {
    const bad = p.charts.filter((c) => !(c.traces > 0 && c.drawn));
    const status = p.errors.length === 0 && bad.length === 0 ? "✓" : "✗";
    const detail = [
      ...p.errors.map((e) => `    console: ${e}`),
      ...bad.map((c) => `    chart ${c.id}: ${c.traces} traces, ${c.drawn ? "drawn" : "not drawn"}`),
    ];
    return [`${status} ${p.page}: ${p.charts.length} charts`, ...detail].join("\n");
  });
  const charts = report.pages.reduce((n, p) => n + p.charts.length, 0);
  return [...lines, `${report.ok ? "site check passed" : "site check FAILED"}: ${report.pages.length} pages, ${charts} charts (screenshots and figure PNGs beside the pages)`].join("\n");
}
