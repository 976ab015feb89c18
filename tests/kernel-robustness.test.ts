// The real notebook kernel under a student's mistakes: Kernel → Interrupt stops long loops at
// their next step (their worker threads end, the kernel goes quiet, the next cell runs), and a
// forgotten `await` on a failing promise does not kill the kernel and is shown in the notebook,
// and errors point at the cell's line or the lib .ts file they come from.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { Kernel } from "../tools/kernel";
import { ROOT, TSLAB_BIN } from "../tools/runner";
import { cpuSecondsOver, fixtureDir } from "./fixtures";

let kernel: Kernel;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function printed(code: string): Promise<string> {
  const r = await kernel.execute(code, 60_000);
  expect(r.status, r.stderr).toBe("ok");
  return r.outputs.map((o) => ("text" in o ? String(o.text) : "")).join("");
}

/** Runs `cell`, interrupts it after `ms` as Jupyter does, and returns what `report` then prints. */
async function interruptAfter(ms: number, cell: string, report: string): Promise<string> {
  const running = kernel.execute(cell, 120_000);
  await sleep(ms);
  kernel.interrupt();
  const r = await running;
  expect(r.status, `${r.detail ?? ""}\n${r.stderr}`).toBe("error"); // tslab: "Interrupted asynchronously"
  await sleep(1000); // tslab refuses requests for a moment after an error
  return printed(report);
}

/** Whether the kernel stays (almost) idle for two seconds: nothing trains in the background. */
async function quiet(): Promise<boolean> {
  return (await cpuSecondsOver(kernel.pid!, 2000)) < 0.5;
}

beforeAll(async () => {
  kernel = await Kernel.start({
    argv: [process.execPath, TSLAB_BIN, "kernel", "--config-path", "{connection_file}"],
    cwd: fixtureDir(),
    env: { ...process.env, TSLAB_ROOT_DIR: ROOT },
  });
  await printed([
    `import { GPT, initBackend, train, type StudyJob } from "../../../lib";`,
    `import { liveWorkerCount, mapInWorkers } from "../../../lib/core/threads";`,
    `await initBackend();`,
    `const ids = Int32Array.from({ length: 4000 }, (_, i) => (i * 7) % 11);`,
    `const config = { vocabSize: 11, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0, bias: true, tieWeights: true };`,
    `const model = GPT.create(config, 1);`,
    `let lastStep = -1;`,
    `let outcome = "running";`,
  ].join("\n"));
}, 120_000);

afterAll(() => kernel?.shutdown());

describe.skipIf(process.platform !== "linux")("Kernel → Interrupt", () => {
  it("stops data-parallel training at its next step, ends its workers and leaves the kernel quiet and usable", async () => {
    const after = await interruptAfter(8000, [
      `await train(model, { train: ids, val: ids }, { steps: 1_000_000, batchSize: 8, evalBatches: 0, workers: 2 }, { onStep: (s) => { lastStep = s.step; } })`,
      `  .then(() => { outcome = "finished"; }, (err) => { outcome = String(err); });`,
    ].join("\n"), "console.log(lastStep, liveWorkerCount(), outcome)");
    const [step, workers, ...message] = after.trim().split(" ");
    expect(Number(step)).toBeGreaterThan(0);
    expect(Number(workers)).toBe(0);
    expect(message.join(" ")).toMatch(/^InterruptedError: training interrupted before step \d+ of 1000000 \(Kernel → Interrupt\)$/);
    expect(await quiet()).toBe(true);
    expect(await printed("console.log(lastStep)")).toBe(`${step}\n`);
  });

  it("reports where an awaited training run stopped in the interrupted cell itself", async () => {
    const running = kernel.execute(`await train(model, { train: ids, val: ids }, { steps: 1_000_000, batchSize: 8, evalBatches: 0, workers: 1 }, { onStep: (s) => { lastStep = s.step; } });`, 120_000);
    await sleep(5000);
    kernel.interrupt();
    const r = await running;
    expect(r.status).toBe("error");
    expect(r.stderr.trim()).toMatch(/^InterruptedError: training interrupted before step \d+ of 1000000 \(Kernel → Interrupt\)$/);
    await sleep(1000);
    expect(await quiet()).toBe(true);
  });

  it("stops the study's runs in worker threads", async () => {
    const after = await interruptAfter(6000, [
      `const seqs = (n: number) => ({ ids: Int32Array.from({ length: n * 16 }, (_, j) => j % 11), labels: Int32Array.from({ length: n }, (_, i) => i % 2), length: 16, classes: ["a", "b"] });`,
      `const job: StudyJob = { backend: "cpu", config: config, weights: [...(await model.weights())], kind: { method: "fine-tune" }, data: { train: seqs(16), val: seqs(8), test: seqs(8) }, options: { steps: 100_000, batchSize: 4, learningRate: 1e-3, seed: 1 } };`,
      `outcome = "running";`,
      `await mapInWorkers("reuse/worker.ts", Array.from({ length: 6 }, () => job), 2, { describe: () => "tuning" })`,
      `  .then(() => { outcome = "finished"; }, (err) => { outcome = String(err); });`,
    ].join("\n"), "console.log(liveWorkerCount(), outcome)");
    expect(after.trim()).toBe("0 InterruptedError: interrupted with 0 of 6 jobs finished (Kernel → Interrupt)");
    expect(await quiet()).toBe(true);
  });
});

describe.skipIf(process.platform !== "linux")("a long session", () => {
  it("training re-run a dozen times (one and two threads, some interrupted) and a tuning grid leave no tensors, threads or memory behind", async () => {
    // What a collection leaves: live tensors, worker threads, and the heap and resident memory in MB.
    const measure = async () => JSON.parse(await printed([
      `{ const v8 = await import("node:v8"), vm = await import("node:vm"); v8.setFlagsFromString("--expose-gc");`,
      `  const gc = vm.runInNewContext("gc"); for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); }`,
      `  const tf = await import("@tensorflow/tfjs"); const m = process.memoryUsage();`,
      `  console.log(JSON.stringify({ tensors: tf.memory().numTensors, workers: liveWorkerCount(), heap: m.heapUsed / 2 ** 20, rss: m.rss / 2 ** 20 })); }`,
    ].join("\n"))) as { tensors: number; workers: number; heap: number; rss: number };
    const run = (workers: number) => `await train(model, { train: ids, val: ids }, { steps: 60, batchSize: 8, evalInterval: 20, evalBatches: 2, workers: ${workers} }, { onStep: (s) => { lastStep = s.step; } });`;
    await printed(run(1));
    const first = await measure();
    for (let k = 0; k < 12; k++) {
      const workers = 1 + (k % 2);
      if (k % 4 === 3) {
        const running = kernel.execute(run(workers).replace("steps: 60", "steps: 1_000_000"), 120_000);
        await sleep(3000);
        kernel.interrupt();
        expect((await running).status).toBe("error");
        await sleep(1000);
      } else {
        await printed(run(workers));
      }
    }
    await printed([
      `const grid = (n: number) => ({ ids: Int32Array.from({ length: n * 16 }, (_, j) => (j * 3) % 11), labels: Int32Array.from({ length: n }, (_, i) => i % 2), length: 16, classes: ["a", "b"] });`,
      `const tuning: StudyJob = { backend: "wasm", config: config, weights: [...(await model.weights())], kind: { method: "lora", rank: 2, alpha: 1 }, data: { train: grid(16), val: grid(8), test: grid(8) }, options: { steps: 10, batchSize: 4, learningRate: 1e-3, seed: 1 } };`,
      `await mapInWorkers("reuse/worker.ts", Array.from({ length: 4 }, () => tuning), 2, { describe: () => "tuning" });`,
    ].join("\n"));
    const last = await measure();
    // Bounds: no tensor or thread more than after the first run; the heap within 25 MB, resident memory within 150 MB of it.
    expect(last.tensors).toBe(first.tensors);
    expect(last.workers).toBe(0);
    expect(last.heap - first.heap, JSON.stringify({ first, last })).toBeLessThan(25);
    expect(last.rss - first.rss, JSON.stringify({ first, last })).toBeLessThan(150);
  }, 300_000);
});

describe("errors a student makes", () => {
  /** Runs a cell expected to fail and returns its error output, waiting out tslab's pause after errors. */
  async function failing(code: string): Promise<string> {
    const r = await kernel.execute(code, 60_000);
    expect(r.status).toBe("error");
    await sleep(1000);
    return r.stderr;
  }

  it("name the cell's own line and, inside lib, the .ts file and line, without tslab's frames", async () => {
    const cell = await failing([`const unused: number = 1;`, ``, `interface Shape { x: number }`, `function fails(): number {`, `  throw new Error("thrown on line 5");`, `}`, `fails();`].join("\n"));
    expect(cell).toMatch(/^Error: thrown on line 5\n\s+at fails \(In\[\d+\]:5:\d+\)\n\s+at In\[\d+\]:7:1\s*$/);

    const source = readFileSync(`${ROOT}/lib/core/machine.ts`, "utf8").split("\n");
    const line = source.findIndex((l) => l.includes('checkPositiveInteger("measureMatmul", "size"')) + 1;
    expect(line).toBeGreaterThan(0);
    const inLib = await failing(`import { measureMatmul } from "../../../lib";\nawait measureMatmul(-5, 1);`);
    expect(inLib).toContain("Error: measureMatmul: size must be a positive integer; got -5");
    expect(inLib).toMatch(new RegExp(`at \\S*measureMatmul \\(lib/core/machine\\.ts:${line}:\\d+\\)\\n\\s+at In\\[\\d+\\]:2:\\d+`));
    expect(inLib).not.toMatch(/tslab|node:internal|evalmachine|machine\.js/);
    // The check helpers' own frames are left out: the first frame is the function called wrongly.
    expect(inLib).not.toMatch(/checks\.[jt]s/);
  });

  it("a forgotten await: the rejection is shown in its own cell after the wasm backend has started, and the kernel lives", async () => {
    // The wasm backend's own handlers used to re-throw this rejection and end the kernel.
    const out = await printed(`Promise.reject(new Error("forgotten await")); console.log("sent")`);
    expect(out).toContain("sent");
    const r = await kernel.execute(`Promise.reject(new Error("forgotten await")); console.log("sent")`, 60_000);
    expect(r.stderr).toMatch(/^A promise was rejected and nothing awaited it \(a missing `await`\?\):\nError: forgotten await\n\s+at In\[\d+\]:1:16/);
    expect(await printed(`console.log("alive")`)).toBe("alive\n");
  });

  it("an exception in a timer after its cell finished is shown at the start of the next cell", async () => {
    await printed(`setTimeout(() => { throw new Error("late timer"); }, 200);`);
    await sleep(600);
    const r = await kernel.execute(`console.log("next")`, 60_000);
    expect(r.status).toBe("ok");
    expect(r.stderr).toMatch(/^After the previous cell had finished: An exception was thrown outside the cell's own code \(in a callback or timer\):\nError: late timer\n\s+at Timeout\._onTimeout \(In\[\d+\]:1:26\)/);
    expect(r.outputs.map((o) => ("text" in o ? String(o.text) : "")).join("")).toContain("next");
  });
});
