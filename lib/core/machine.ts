// What this machine is and how fast it multiplies matrices: the reference every speed
// figure in the course is read against.
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

import { inKernel } from "./display";
import { resolvePackageFile } from "./paths";
import { courseScale } from "./scale";
import { checkPositiveInteger } from "./checks";

export function packageVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(resolvePackageFile(`${name}/package.json`), "utf8")).version;
  } catch {
    return "not installed";
  }
}

export interface EnvironmentRow {
  component: string;
  value: string;
}

/** "2 × Intel(R) Xeon(R) Processor": the cores and their model, as reports and benchmarks name the machine. */
export function cpuDescription(): string {
  const cpu = cpus();
  return `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}`;
}

/** The facts a bug report needs: runtime, packages, backend, kernel, scale, hardware. */
export function environmentReport(): EnvironmentRow[] {
  return [
    { component: "Node.js", value: process.version },
    { component: "tslab", value: packageVersion("tslab") },
    { component: "TypeScript (tslab's)", value: packageVersion("@tslab/typescript-for-tslab") },
    { component: "TensorFlow.js", value: tf.version.tfjs },
    { component: "tfjs backend", value: tf.getBackend() ?? "none chosen yet" },
    { component: "danfojs-node", value: packageVersion("danfojs-node") },
    { component: "plotly.js", value: packageVersion("plotly.js-dist") },
    { component: "kernel", value: inKernel() ? "tslab (outputs go to the notebook)" : "none (plain Node.js)" },
    { component: "course scale", value: courseScale() },
    { component: "CPU", value: cpuDescription() },
    { component: "memory", value: `${(totalmem() / 2 ** 30).toFixed(1)} GiB` },
  ];
}

export interface MatmulMeasurement {
  size: number;
  /** Median seconds for one n×n by n×n product. */
  seconds: number;
  gflops: number;
}

/**
 * Times square fp32 matmuls on the active backend: 2n³ flops each, reading the result back so
 * that asynchronous backends finish. Warms up for at least 50 ms first (the backend's first
 * products pay for allocation and compilation, which would make the first size look slow), and
 * times batches of products long enough (≥ 5 ms) that the clock's resolution does not matter;
 * returns the median of `repeats` batches.
 */
export async function measureMatmul(size: number, repeats = 5): Promise<MatmulMeasurement> {
  checkPositiveInteger("measureMatmul", "size", size);
  checkPositiveInteger("measureMatmul", "repeats", repeats);
  checkMemory("measureMatmul", `three ${size} × ${size} matrices`, 3 * 4 * size * size);
  const a = tf.randomUniform([size, size], -1, 1, "float32", 1);
  const b = tf.randomUniform([size, size], -1, 1, "float32", 2);
  const products = async (count: number): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    }
    return (performance.now() - t0) / 1000;
  };
  const times: number[] = [];
  try {
    let warmups = 0;
    let warmupSeconds = 0;
    while (warmups < 2 || warmupSeconds < 0.05) {
      warmupSeconds += await products(1);
      warmups++;
    }
    const perBatch = Math.max(1, Math.ceil(0.005 / (warmupSeconds / warmups)));
    for (let i = 0; i < repeats; i++) times.push((await products(perBatch)) / perBatch);
  } finally {
    a.dispose();
    b.dispose();
  }
  times.sort((x, y) => x - y);
  const seconds = times[Math.floor(times.length / 2)];
  return { size, seconds, gflops: (2 * size ** 3) / seconds / 1e9 };
}

/**
 * The memory a tensor backend can use, for refusing sizes before allocating them: wasm addresses
 * at most 4 GiB (32-bit), the others the machine's RAM (a GPU's own memory is not known here).
 */
export function backendMemory(): { bytes: number; what: string } {
  const ram = totalmem();
  if (tf.getBackend() === "wasm" && ram > 2 ** 32) return { bytes: 2 ** 32, what: "the wasm backend's 4 GiB address space" };
  return { bytes: ram, what: `this machine's ${(ram / 2 ** 30).toFixed(1)} GiB of RAM` };
}

/** Refuses work whose estimated memory exceeds what the backend can use, naming both. */
export function checkMemory(fn: string, what: string, bytes: number): void {
  const limit = backendMemory();
  if (bytes > limit.bytes) {
    throw new Error(`${fn}: ${what} needs about ${(bytes / 2 ** 30).toFixed(1)} GiB, more than ${limit.what}; choose a smaller size`);
  }
}
