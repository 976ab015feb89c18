// A GPT-2-style decoder in TensorFlow.js, after nanoGPT's model.py: token and position
// embeddings, pre-LayerNorm blocks of causal self-attention and a GELU MLP, a final
// LayerNorm and a language-model head (optionally tied to the token embedding).
// Weights are stored [in, out] so every linear layer is x @ W.
import * as tf from "@tensorflow/tfjs";

import { Random } from "../core/random";
import { castHalf, probeGradient, type HalfFormat } from "./precision";
import { causalSoftmax, crossEntropy, embed, gelu, layerNorm, linear, matMul2d } from "./ops";
import { checkIds, checkObject, checkPositiveInteger, checkRules, type ConfigRule, integerFrom, rulesFor } from "../core/checks";
import { checkMemory } from "../core/machine";

export interface GPTConfig {
  /** Tokens in the vocabulary. */
  vocabSize: number;
  /** Context length: the most tokens the model sees at once. */
  blockSize: number;
  nLayer: number;
  nHead: number;
  /** Width of the residual stream; a multiple of nHead. */
  nEmbd: number;
  /** Dropout rate in training (0 turns it off). */
  dropout: number;
  /** Biases in linear layers and LayerNorms, as GPT-2 has. */
  bias: boolean;
  /** Share the token embedding with the output head, as GPT-2 does. */
  tieWeights: boolean;
}

/** nanoGPT's small CPU configuration for Tiny Shakespeare (vocabSize comes from the tokenizer). */
export const BABY_GPT: Omit<GPTConfig, "vocabSize"> = {
  blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0, bias: true, tieWeights: true,
};

const rule = rulesFor<GPTConfig>();
const positiveInteger = integerFrom(1);
const isBoolean = (v: boolean) => typeof v === "boolean";

/** The rules of a GPTConfig, one row per field, in the order they are checked. */
const CONFIG_RULES: readonly ConfigRule<GPTConfig>[] = [
  rule("vocabSize", positiveInteger, "a positive integer"),
  rule("blockSize", positiveInteger, "a positive integer"),
  rule("nLayer", positiveInteger, "a positive integer"),
  rule("nHead", positiveInteger, "a positive integer"),
  rule("nEmbd", positiveInteger, "a positive integer"),
  rule("nEmbd", (v, c) => v % c.nHead === 0, (c) => `divisible by nHead (${c.nHead})`),
  rule("dropout", (v) => v >= 0 && v < 1, "in [0, 1)"),
  rule("bias", isBoolean, "true or false"),
  rule("tieWeights", isBoolean, "true or false"),
];

/** `config` if every field passes its rule in CONFIG_RULES; otherwise an error naming `fn`, the field and its value. */
export function validateConfig(config: GPTConfig, fn = "validateConfig"): GPTConfig {
  checkObject(fn, "config", config, "an object { vocabSize, blockSize, nLayer, nHead, nEmbd, ... }");
  checkRules(fn, "config.", config, CONFIG_RULES);
  return config;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  init: { kind: "normal"; std: number } | { kind: "zeros" } | { kind: "ones" };
  /** Whether AdamW decays it: 2-D tensors (matrices, embeddings) yes; biases and norm gains no, as in nanoGPT. */
  decay: boolean;
}

/** Every parameter with its shape and initialisation, in a fixed order (the checkpoint order). */
export function parameterSpecs(config: GPTConfig): ParamSpec[] {
  return specsOf(validateConfig(config, "parameterSpecs"));
}

/** parameterSpecs without its checks, for callers that validated the config once (GPT.create calls it twice). */
function specsOf(config: GPTConfig): ParamSpec[] {
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: C, bias } = config;
  const normal = (std: number) => ({ kind: "normal" as const, std });
  const zeros = { kind: "zeros" as const };
  const ones = { kind: "ones" as const };
  // GPT-2: residual projections scaled by 1/sqrt(2L) so the residual stream's variance does not grow with depth.
  const projStd = 0.02 / Math.sqrt(2 * L);
  const specs: ParamSpec[] = [
    { name: "wte", shape: [V, C], init: normal(0.02), decay: true },
    { name: "wpe", shape: [T, C], init: normal(0.02), decay: true },
  ];
  const norm = (name: string) => {
    specs.push({ name: `${name}.weight`, shape: [C], init: ones, decay: false });
    if (bias) specs.push({ name: `${name}.bias`, shape: [C], init: zeros, decay: false });
  };
  const dense = (name: string, nIn: number, nOut: number, std: number) => {
    specs.push({ name: `${name}.weight`, shape: [nIn, nOut], init: normal(std), decay: true });
    if (bias) specs.push({ name: `${name}.bias`, shape: [nOut], init: zeros, decay: false });
  };
  for (let l = 0; l < L; l++) {
    norm(`h.${l}.ln_1`);
    dense(`h.${l}.attn.c_attn`, C, 3 * C, 0.02);
    dense(`h.${l}.attn.c_proj`, C, C, projStd);
    norm(`h.${l}.ln_2`);
    dense(`h.${l}.mlp.c_fc`, C, 4 * C, 0.02);
    dense(`h.${l}.mlp.c_proj`, 4 * C, C, projStd);
  }
  norm("ln_f");
  if (!config.tieWeights) specs.push({ name: "lm_head.weight", shape: [C, V], init: normal(0.02), decay: true });
  return specs;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** A variable holding `values`; the temporary tensor it was built from is freed at once. */
function variableFrom(values: Float32Array, shape: number[]): tf.Variable {
  const init = tf.tensor(values, shape, "float32");
  const v = tf.variable(init, true);
  init.dispose();
  return v;
}

/** Parameter counts: all of them, and without the token and position embeddings (Kaplan et al.'s N). */
export function countParameters(config: GPTConfig): { total: number; nonEmbedding: number } {
  return countOf(validateConfig(config, "countParameters"));
}

/** countParameters without its checks. */
function countOf(config: GPTConfig): { total: number; nonEmbedding: number } {
  const specs = specsOf(config);
  const total = specs.reduce((s, p) => s + size(p.shape), 0);
  const embeddings = specs.filter((p) => p.name === "wte" || p.name === "wpe").reduce((s, p) => s + size(p.shape), 0);
  return { total, nonEmbedding: total - embeddings };
}

/** Bytes of a model's fp32 weights, and again while they are drawn (a host copy beside the backend's); the config is checked. */
function weightBytes(config: GPTConfig): number {
  return 2 * 4 * countOf(config).total;
}

/**
 * About what training needs at once, in bytes: weights, gradients and AdamW's two moments (fp32),
 * and the activations a batch keeps for the backward pass — per layer and token about 14·C values
 * (layer norms, q, k, v, attention output, the MLP's 4·C hidden units before and after GELU) and
 * two nHead·T attention matrices, plus the logits (three V-wide copies: logits, softmax, gradient).
 */
export function trainingBytes(config: GPTConfig, batchSize: number): number {
  const { nLayer, nHead, nEmbd, blockSize: T, vocabSize: V } = config;
  const perToken = nLayer * (14 * nEmbd + 2 * nHead * T) + 3 * V;
  return 4 * (4 * countParameters(config).total + batchSize * T * perToken);
}

/**
 * Training FLOPs per token: 6 per weight that multiplies (forward 2, backward 4), counting
 * the output head (V·C, tied or not) but not the embedding lookups, plus attention's
 * 12·L·T·C (QKᵀ and A·V over a full context, forward and backward), as in PaLM's appendix B.
 */
export function flopsPerToken(config: GPTConfig): number {
  const { nonEmbedding } = countParameters(config);
  const head = config.vocabSize * config.nEmbd;
  return 6 * (nonEmbedding + head) + 12 * config.nLayer * config.blockSize * config.nEmbd;
}

/** Low-rank updates to named linear layers (LoRA): y = x·W + b + delta(name, x). */
export interface Adapters {
  /** The extra output for the layer whose weight is `weightName`, or null to leave it unchanged. */
  delta(weightName: string, x: tf.Tensor2D): tf.Tensor2D | null;
}

export interface ForwardOptions {
  /** Dropout on (training) or off (evaluation, sampling). */
  training?: boolean;
  /** Seed for this call's dropout masks; vary it per step. */
  dropoutSeed?: number;
  /** Keep the residual stream after the embeddings and after every block. */
  keepHidden?: boolean;
  /** Low-rank adapters applied to the linear layers they name. */
  adapters?: Adapters;
  /** Emulated mixed precision: matmul inputs (and their gradients) rounded to fp16 or bf16; the rest float32. */
  precision?: HalfFormat;
  /**
   * Called in the backward pass with a copy of the gradient flowing into each activation a matmul
   * reads (what mixed precision stores in 16 bits), before any rounding: Micikevicius et al.'s
   * figure 3. The callee owns the copy and disposes of it.
   */
  probe?: (gradient: tf.Tensor) => void;
}

export interface ForwardResult {
  /** [B·T, V] */
  logits: tf.Tensor2D;
  /** With keepHidden: nLayer + 1 tensors [B, T, C] (embeddings, then each block's output). */
  hidden: tf.Tensor3D[];
  /** The final LayerNorm's output, [B·T, C]: what the head reads, and what a classifier head can read. */
  final: tf.Tensor2D;
}

export class GPT {
  readonly config: GPTConfig;
  readonly params: Map<string, tf.Variable>;
  private readonly masks = new Map<number, tf.Tensor2D>();
  private disposed = false;

  private constructor(config: GPTConfig, params: Map<string, tf.Variable>) {
    this.config = config;
    this.params = params;
  }

  /** A freshly initialised model; the same seed gives the same weights on every backend. */
  static create(config: GPTConfig, seed = 1337): GPT {
    // Before drawing a single weight: a size that cannot fit fails now, not minutes into allocation.
    // Checked once here; the counts and specs below read it unchecked.
    checkMemory("GPT.create", `a model of ${countOf(validateConfig(config, "GPT.create")).total.toLocaleString("en")} parameters`, weightBytes(config));
    const random = new Random(seed);
    const params = new Map<string, tf.Variable>();
    for (const spec of specsOf(config)) {
      const n = size(spec.shape);
      const values = spec.init.kind === "normal" ? random.normals(n, spec.init.std) : new Float32Array(n).fill(spec.init.kind === "ones" ? 1 : 0);
      params.set(spec.name, variableFrom(values, spec.shape));
    }
    return new GPT({ ...config }, params);
  }

  /** Builds a model around existing weights (checkpoints); shapes must match the config. */
  static fromWeights(config: GPTConfig, weights: Map<string, Float32Array>): GPT {
    const params = new Map<string, tf.Variable>();
    for (const spec of specsOf(validateConfig(config, "GPT.fromWeights"))) {
      const values = weights.get(spec.name);
      if (!values) throw new Error(`GPT.fromWeights: missing parameter ${spec.name} (shape [${spec.shape}])`);
      if (values.length !== size(spec.shape)) {
        throw new Error(`GPT.fromWeights: ${spec.name} has ${values.length} values; shape [${spec.shape}] needs ${size(spec.shape)}`);
      }
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`GPT.fromWeights: ${spec.name}[${bad}] is ${values[bad]}; a model's weights must be finite`);
      params.set(spec.name, variableFrom(values, spec.shape));
    }
    return new GPT({ ...config }, params);
  }

  private p<R extends tf.Rank>(name: string): tf.Tensor<R> {
    const v = this.params.get(name);
    if (!v) throw new Error(`GPT: no parameter named ${name}`);
    return v as unknown as tf.Tensor<R>;
  }

  private optional<R extends tf.Rank>(name: string): tf.Tensor<R> | undefined {
    return this.params.get(name) as unknown as tf.Tensor<R> | undefined;
  }

  /** 0 where a query may attend (key position ≤ query position), -1e9 above the diagonal. */
  private causalMask(T: number): tf.Tensor2D {
    let mask = this.masks.get(T);
    if (!mask) {
      const values = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) values[i * T + j] = -1e9;
      mask = tf.keep(tf.tensor2d(values, [T, T]));
      this.masks.set(T, mask);
    }
    return mask;
  }

  /**
   * Refuses a model whose weights were freed by dispose(): tfjs would fail deep inside an op
   * ("Cannot read properties of undefined") without saying which model or why.
   */
  checkUsable(fn: string): void {
    if (this.disposed) throw new Error(`${fn}: the model was disposed (its weights are freed); create or load it again (GPT.create, loadCheckpoint)`);
  }

  /** Checks ids and shape at the door, with the numbers in the message. */
  private checkInput(ids: Int32Array, batchSize: number, T: number): void {
    this.checkUsable("GPT.forward");
    const { blockSize, vocabSize } = this.config;
    checkPositiveInteger("GPT.forward", "sequence length", T);
    checkPositiveInteger("GPT.forward", "batchSize", batchSize);
    checkIds("GPT.forward", "ids", ids); // a Float32Array would be cut to integers without a word
    if (T > blockSize) throw new Error(`GPT.forward: cannot forward a sequence of length ${T}; blockSize is only ${blockSize}`);
    if (ids.length !== batchSize * T) throw new Error(`GPT.forward: got ${ids.length} token ids for batch ${batchSize} × length ${T} = ${batchSize * T}`);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < vocabSize)) throw new Error(`GPT.forward: token id ${ids[i]} at position ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  }

  /** Logits for every position of `batchSize` sequences of length T (ids row-major [B, T]). */
  forward(ids: Int32Array, batchSize: number, T: number, options: ForwardOptions = {}): ForwardResult {
    this.checkInput(ids, batchSize, T);
    return this.run(ids, batchSize, T, options);
  }

  /** forward() after its checks. */
  private run(ids: Int32Array, batchSize: number, T: number, options: ForwardOptions): ForwardResult {
    const { nLayer, nHead, nEmbd: C, dropout } = this.config;
    const B = batchSize;
    const hs = C / nHead;
    const training = options.training ?? false;
    let dropoutCalls = 0;
    const drop = <X extends tf.Tensor>(x: X): X =>
      training && dropout > 0 ? (tf.dropout(x, dropout, undefined, (options.dropoutSeed ?? 0) * 1009 + dropoutCalls++) as X) : x;
    const hidden: tf.Tensor3D[] = [];
    // What a half-precision matmul would read; identity in full precision.
    const half = <X extends tf.Tensor>(t: X): X => (options.precision ? (castHalf(t, options.precision) as X) : t);
    // An activation a matmul reads: rounded like any matmul input, and its gradient shown to the probe.
    const act = <X extends tf.Tensor>(t: X): X => (options.probe ? (probeGradient(half(t), options.probe) as X) : half(t));
    const dense = (name: string, x: tf.Tensor2D): tf.Tensor2D => {
      const y = linear(act(x), half(this.p<tf.Rank.R2>(`${name}.weight`)), this.optional(`${name}.bias`));
      const delta = options.adapters?.delta(`${name}.weight`, x);
      return delta ? tf.add(y, delta) : y;
    };

    const idx = tf.tensor1d(ids, "int32");
    const wpe = this.p<tf.Rank.R2>("wpe");
    const pos = T === this.config.blockSize ? wpe : tf.slice(wpe, [0, 0], [T, C]); // [T, C]
    const tok = embed(idx, half(this.p<tf.Rank.R2>("wte"))); // [B*T, C]
    let x = drop(tf.reshape(tf.add(tf.reshape(tok, [B, T, C]), pos), [B * T, C])) as tf.Tensor2D; // [B*T, C]
    if (options.keepHidden) hidden.push(tf.reshape(x, [B, T, C]));
    const mask = this.causalMask(T);

    for (let l = 0; l < nLayer; l++) {
      const h = `h.${l}`;
      // Causal self-attention: every head attends to earlier positions only.
      const a = layerNorm(x, this.p(`${h}.ln_1.weight`), this.optional(`${h}.ln_1.bias`));
      const qkv = dense(`${h}.attn.c_attn`, a); // [B*T, 3C]
      // Split first, then a 4-D transpose per tensor: wasm's 5-D transpose is ~100x slower.
      const [q, k, v] = tf.split(qkv, 3, 1).map((t) => act(tf.transpose(tf.reshape(t, [B, T, nHead, hs]), [0, 2, 1, 3]))); // each [B, nh, T, hs]
      const att = act(drop(causalSoftmax(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs), mask))); // [B, nh, T, T]; softmax in float32, its output stored in half precision
      const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D; // [B*T, C]
      x = tf.add(x, drop(dense(`${h}.attn.c_proj`, y)));
      // MLP: widen 4×, GELU, project back.
      const m = layerNorm(x, this.p(`${h}.ln_2.weight`), this.optional(`${h}.ln_2.bias`));
      const fc = gelu(dense(`${h}.mlp.c_fc`, m)) as tf.Tensor2D; // [B*T, 4C]
      x = tf.add(x, drop(dense(`${h}.mlp.c_proj`, fc)));
      if (options.keepHidden) hidden.push(tf.reshape(x, [B, T, C]));
    }

    const out = layerNorm(x, this.p("ln_f.weight"), this.optional("ln_f.bias"));
    // The head multiplies by wteᵀ when tied; the transpose is explicit so that the matmul stays fast.
    const head = this.config.tieWeights ? tf.transpose(this.p<tf.Rank.R2>("wte")) : this.p<tf.Rank.R2>("lm_head.weight"); // [C, V]
    return { logits: matMul2d(act(out), half(head)), hidden, final: out }; // logits [B*T, V]
  }

  /** Mean next-token cross-entropy of targets y given contexts x (both row-major [B, T]). */
  loss(x: Int32Array, y: Int32Array, batchSize: number, T: number, options: ForwardOptions = {}): tf.Scalar {
    if (y.length !== x.length) throw new Error(`GPT.loss: ${x.length} inputs but ${y.length} targets`);
    this.checkInput(x, batchSize, T);
    for (let i = 0; i < y.length; i++) {
      if (!(y[i] >= 0 && y[i] < this.config.vocabSize)) throw new Error(`GPT.loss: target id ${y[i]} at position ${i} is outside [0, ${this.config.vocabSize})`);
    }
    return this.trainingLoss(x, y, batchSize, T, options);
  }

  /**
   * loss() without scanning its ids: what the training loops call at every step, on batches
   * drawn from token ids that train() checked against the vocabulary once, before the first step.
   */
  trainingLoss(x: Int32Array, y: Int32Array, batchSize: number, T: number, options: ForwardOptions = {}): tf.Scalar {
    this.checkUsable("GPT.trainingLoss");
    return crossEntropy(this.run(x, batchSize, T, options).logits, tf.tensor1d(y, "int32"));
  }

  /**
   * The residual stream after the embeddings and after each block, [B, T, C] per layer
   * (nLayer + 1 tensors, caller disposes): the features a probe or a new head reads.
   */
  features(ids: Int32Array, batchSize: number, T: number): tf.Tensor3D[] {
    return tf.tidy(() => {
      const { hidden } = this.forward(ids, batchSize, T, { keepHidden: true });
      return hidden;
    });
  }

  get parameterCount(): { total: number; nonEmbedding: number } {
    return countParameters(this.config);
  }

  /** A copy of the current weights as plain arrays, in parameterSpecs order (read asynchronously, as webgpu requires). */
  async weights(): Promise<Map<string, Float32Array>> {
    this.checkUsable("GPT.weights");
    const names = [...this.params.keys()];
    const values = await Promise.all(names.map((name) => this.params.get(name)!.data() as Promise<Float32Array>));
    // The cpu backend hands out its own arrays; a caller may change what it gets.
    return new Map(names.map((name, i) => [name, values[i].slice()]));
  }

  dispose(): void {
    this.disposed = true;
    for (const v of this.params.values()) v.dispose();
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/** Every parameter of a model with its weight-decay flag, in checkpoint order. */
export function modelParameters(model: GPT): { variable: tf.Variable; decay: boolean }[] {
  checkObject("modelParameters", "model", model, "a GPT");
  model.checkUsable("modelParameters");
  return parameterSpecs(model.config).map((s) => ({ variable: model.params.get(s.name)!, decay: s.decay }));
}
