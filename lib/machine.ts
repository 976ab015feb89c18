// What this machine is and how fast it multiplies matrices: the reference every speed
// figure in the course is read against.
import * as tf from "@tensorflow/tfjs";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

import { inKernel } from "./display";
import { resolvePackageFile } from "./paths";
import { courseScale } from "./scale";

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

/** The facts a bug report needs: runtime, packages, backend, kernel, scale, hardware. */
export function environmentReport(): EnvironmentRow[] {
  const cpu = cpus();
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
    { component: "CPU", value: `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown"}` },
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
 * Times square fp32 matmuls on the active backend: 2n³ flops each, median of `repeats`
 * after one warm-up, reading the result back so that asynchronous backends finish.
 */
export async function measureMatmul(size: number, repeats = 5): Promise<MatmulMeasurement> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`measureMatmul: size must be a positive integer; got ${size}`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`measureMatmul: repeats must be a positive integer; got ${repeats}`);
  const a = tf.randomUniform([size, size], -1, 1, "float32", 1);
  const b = tf.randomUniform([size, size], -1, 1, "float32", 2);
  const times: number[] = [];
  try {
    for (let i = 0; i <= repeats; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
      if (i > 0) times.push((performance.now() - t0) / 1000);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  times.sort((x, y) => x - y);
  const seconds = times[Math.floor(times.length / 2)];
  return { size, seconds, gflops: (2 * size ** 3) / seconds / 1e9 };
}
