// LoRA (Hu et al. 2021): freeze a pretrained weight W [in, out] and learn a low-rank update
// ΔW = (α/r)·A·B with A [in, r] and B [r, out]. B starts at zero, so before training the
// adapted model is exactly the pretrained one; r(in + out) numbers per layer replace in·out.
import * as tf from "@tensorflow/tfjs";

import { checkThat, shown } from "../core/checks";
import { Random } from "../core/random";
import { GPT, parameterSpecs, type Adapters } from "./model";
import { matMul2d } from "./ops";

/** Which linear layers get adapters: groups ("attn", "mlp") or exact weight names. */
export type LoRATarget = "attn" | "mlp" | string;

export interface LoRAConfig {
  /** Rank r of each update: 1 ≤ r ≤ min(in, out). */
  rank: number;
  /** Scale α; the update is multiplied by α/r (default α = r, a scale of 1). */
  alpha?: number;
  targets: LoRATarget[];
}

interface Adapter {
  a: tf.Variable; // [in, r]
  b: tf.Variable; // [r, out]
  scale: number;
}

/** The linear-layer weights of a model (every 2-D weight except the embeddings and the output head). */
export function linearWeightNames(model: GPT): string[] {
  return parameterSpecs(model.config).filter((s) => /\.(c_attn|c_proj|c_fc)\.weight$/.test(s.name)).map((s) => s.name);
}

function resolveTargets(model: GPT, targets: LoRATarget[]): string[] {
  if (!Array.isArray(targets)) throw new Error(`LoRA: targets must be an array such as ["attn", "mlp"]; got ${shown(targets)}`);
  if (targets.length === 0) throw new Error(`LoRA: no targets; give "attn", "mlp" or weight names such as ${linearWeightNames(model)[0]}`);
  const all = linearWeightNames(model);
  const chosen = new Set<string>();
  for (const t of targets) {
    const matches = t === "attn" ? all.filter((n) => n.includes(".attn.")) : t === "mlp" ? all.filter((n) => n.includes(".mlp.")) : all.filter((n) => n === t);
    if (matches.length === 0) {
      throw new Error(`LoRA: unknown target ${JSON.stringify(t)}; expected "attn", "mlp" or one of ${all.join(", ")}`);
    }
    matches.forEach((m) => chosen.add(m));
  }
  return all.filter((n) => chosen.has(n));
}

export class LoRA implements Adapters {
  readonly rank: number;
  private readonly adapters: Map<string, Adapter>;

  private constructor(rank: number, adapters: Map<string, Adapter>) {
    this.rank = rank;
    this.adapters = adapters;
  }

  /**
   * Adapters for `model`'s targeted layers: A ~ N(0, 1/d_in), so that x·A has unit scale
   * whatever the width, and B = 0, so that nothing changes yet (Hu et al. 2021 initialise A
   * by Kaiming's rule, of the same scale).
   */
  static create(model: GPT, config: LoRAConfig, seed = 1): LoRA {
    const names = resolveTargets(model, config.targets);
    const random = new Random(seed);
    const adapters = new Map<string, Adapter>();
    for (const name of names) {
      const [nIn, nOut] = model.params.get(name)!.shape;
      const r = config.rank;
      checkThat(Number.isInteger(r) && r >= 1 && r <= Math.min(nIn, nOut), "LoRA", "rank", r, `an integer in [1, ${Math.min(nIn, nOut)}] for ${name} ([${nIn}, ${nOut}])`);
      const alpha = config.alpha ?? r;
      if (!(alpha > 0)) throw new Error(`LoRA: alpha must be positive; got ${alpha}`);
      const a = tf.tidy(() => tf.variable(tf.tensor2d(random.normals(nIn * r, 1 / Math.sqrt(nIn)), [nIn, r]), true));
      const b = tf.tidy(() => tf.variable(tf.zeros([r, nOut]), true));
      adapters.set(name, { a, b, scale: alpha / r });
    }
    return new LoRA(config.rank, adapters);
  }

  delta(weightName: string, x: tf.Tensor2D): tf.Tensor2D | null {
    const ad = this.adapters.get(weightName);
    if (!ad) return null;
    // (x·A)·B: two thin matmuls instead of forming the full in × out update.
    return tf.mul(matMul2d(matMul2d(x, ad.a as unknown as tf.Tensor2D), ad.b as unknown as tf.Tensor2D), ad.scale) as tf.Tensor2D;
  }

  /** The trainable tensors (A and B of every adapter). */
  get variables(): tf.Variable[] {
    return [...this.adapters.values()].flatMap((ad) => [ad.a, ad.b]);
  }

  get layerNames(): string[] {
    return [...this.adapters.keys()];
  }

  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  /** W + (α/r)·A·B for every adapted layer: a plain model that needs no adapters at inference. */
  async merge(model: GPT): Promise<GPT> {
    const weights = await model.weights();
    for (const [name, ad] of this.adapters) {
      const merged = tf.tidy(() => tf.add(model.params.get(name)!, tf.mul(tf.matMul(ad.a, ad.b), ad.scale)));
      weights.set(name, (await merged.data()) as Float32Array);
      merged.dispose();
    }
    return GPT.fromWeights(model.config, weights);
  }

  /** The adapter weights alone: what must be stored and loaded per task. */
  async weights(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, ad] of this.adapters) {
      out.set(`${name}.lora_a`, (await ad.a.data()) as Float32Array);
      out.set(`${name}.lora_b`, (await ad.b.data()) as Float32Array);
    }
    return out;
  }

  /** Replaces the adapter weights with saved ones (switching tasks without touching the base model). */
  load(weights: Map<string, Float32Array>): void {
    const targets = [...this.adapters].flatMap(([name, ad]) => [[`${name}.lora_a`, ad.a], [`${name}.lora_b`, ad.b]] as const);
    // Every adapter is checked before any is replaced: a bad file leaves the old adapters whole.
    for (const [key, v] of targets) {
      const values = weights.get(key);
      if (!values || values.length !== v.size) throw new Error(`LoRA.load: ${key} needs ${v.size} values; got ${values ? values.length : "none"}`);
      const bad = values.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new Error(`LoRA.load: ${key}[${bad}] is ${values[bad]}; adapter weights must be finite`);
    }
    for (const [key, v] of targets) tf.tidy(() => v.assign(tf.tensor(weights.get(key)!, v.shape)));
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}
