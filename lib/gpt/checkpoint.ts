// Tensor files: a JSON header and named float32 tensors in one file, written atomically.
// Checkpoints (a whole model) and adapters (a task's LoRA weights) are both tensor files;
// loading a checkpoint refuses one whose config differs from the one expected.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import { shown } from "../core/checks";
import { writeFileAtomic } from "../core/files";
import { GPT, parameterSpecs, validateConfig, type GPTConfig } from "./model";

const MAGIC = "GPTCKPT1";

export interface TensorEntry {
  shape: number[];
  values: Float32Array;
}

/**
 * Layout: MAGIC, header length (u32 LE), JSON header padded to 4 bytes, then each tensor's
 * float32 LE values in header order. The header carries the SHA-256 of those values, so a
 * flipped byte is caught on reading (files written before it was added have none and are read
 * as they are).
 */
export function writeTensorFile(path: string, header: Record<string, unknown>, tensors: Map<string, TensorEntry>): void {
  const index = [...tensors].map(([name, t]) => ({ name, shape: t.shape }));
  const floats = [...tensors.values()].reduce((n, t) => n + t.values.length, 0);
  const payload = Buffer.alloc(floats * 4);
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.values.length) throw new Error(`writeTensorFile: ${name} has ${t.values.length} values but shape [${t.shape}] needs ${n}`);
    // Refused now, not when the file is read back (readTensorFile refuses it too).
    const bad = t.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`writeTensorFile: ${name}[${bad}] is ${t.values[bad]}; saved weights must be finite (${path} not written)`);
    for (let i = 0; i < n; i++, offset += 4) payload.writeFloatLE(t.values[i], offset);
  }
  const sha256 = createHash("sha256").update(payload).digest("hex");
  const json = Buffer.from(JSON.stringify({ ...header, sha256, tensors: index }), "utf8");
  const headerBytes = Math.ceil((json.length + MAGIC.length + 4) / 4) * 4 - MAGIC.length - 4;
  const out = Buffer.alloc(MAGIC.length + 4 + headerBytes, 0x20);
  out.write(MAGIC, 0, "ascii");
  out.writeUInt32LE(headerBytes, MAGIC.length);
  json.copy(out, MAGIC.length + 4);
  writeFileAtomic(path, Buffer.concat([out, payload]));
}

export function readTensorFile(path: string): { header: Record<string, unknown>; tensors: Map<string, TensorEntry> } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${path} (${(err as Error).message})`);
  }
  if (buf.length < MAGIC.length + 4 || buf.toString("ascii", 0, MAGIC.length) !== MAGIC) {
    throw new Error(`${path} is not a tensor file (expected a file starting with "${MAGIC}")`);
  }
  const headerBytes = buf.readUInt32LE(MAGIC.length);
  const payloadStart = MAGIC.length + 4 + headerBytes;
  if (payloadStart > buf.length) throw new Error(`${path} is truncated: its header claims ${headerBytes} bytes, the file has ${buf.length - MAGIC.length - 4}`);
  let parsed: { tensors?: unknown; sha256?: unknown } & Record<string, unknown>;
  try {
    parsed = JSON.parse(buf.toString("utf8", MAGIC.length + 4, payloadStart));
  } catch (err) {
    throw new Error(`${path} has a corrupted header (${(err as Error).message})`);
  }
  const { tensors: index, sha256, ...header } = parsed;
  const valid = (e: unknown): e is { name: string; shape: number[] } => typeof (e as { name?: unknown })?.name === "string"
    && Array.isArray((e as { shape?: unknown }).shape) && (e as { shape: unknown[] }).shape.every((d) => Number.isInteger(d) && (d as number) >= 0);
  if (!Array.isArray(index) || !index.every(valid)) throw new Error(`${path} has a corrupted header: its tensor list is not a list of { name, shape }`);
  if (sha256 !== undefined) {
    const actual = createHash("sha256").update(buf.subarray(payloadStart)).digest("hex");
    if (actual !== sha256) throw new Error(`${path} is corrupted: its tensors' SHA-256 is ${actual.slice(0, 12)}…, the header says ${String(sha256).slice(0, 12)}…`);
  }
  const tensors = new Map<string, TensorEntry>();
  let offset = payloadStart;
  for (const { name, shape } of index) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (offset + n * 4 > buf.length) throw new Error(`${path} is truncated in tensor ${name}`);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++, offset += 4) values[i] = buf.readFloatLE(offset);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${path}: tensor ${name} holds ${values[bad]} at index ${bad}; a saved model's weights must be finite`);
    tensors.set(name, { shape, values });
  }
  if (offset !== buf.length) throw new Error(`${path} has ${buf.length - offset} bytes after the last tensor; expected none`);
  return { header, tensors };
}

export async function saveCheckpoint(path: string, model: GPT, info: { step?: number; meta?: Record<string, unknown> } = {}): Promise<void> {
  const weights = await model.weights();
  const tensors = new Map(parameterSpecs(model.config).map((s) => [s.name, { shape: s.shape, values: weights.get(s.name)! }]));
  writeTensorFile(path, { config: model.config, step: info.step ?? 0, meta: info.meta ?? {} }, tensors);
}

/** Differences between two configs, as "key: a in checkpoint, b expected". */
function configDifferences(found: GPTConfig, expected: GPTConfig): string[] {
  const keys = new Set([...Object.keys(found), ...Object.keys(expected)] as (keyof GPTConfig)[]);
  return [...keys].filter((k) => found[k] !== expected[k]).map((k) => `${k}: ${JSON.stringify(found[k])} in the checkpoint, ${JSON.stringify(expected[k])} expected`);
}

/**
 * Reads a checkpoint into a new model on the current backend. With `expected`, refuses a
 * checkpoint of any other configuration.
 */
export function loadCheckpoint(path: string, expected?: GPTConfig): { model: GPT; step: number; meta: Record<string, unknown> } {
  let file;
  try {
    file = readTensorFile(path);
  } catch (err) {
    throw new Error(`loadCheckpoint: ${(err as Error).message}`);
  }
  if (typeof file.header.config !== "object" || file.header.config === null) {
    throw new Error(`loadCheckpoint: ${path} has no model config in its header; it is not a checkpoint of a GPT (an adapter file, say)`);
  }
  const config = validateConfig(file.header.config as GPTConfig);
  if (expected) {
    const diff = configDifferences(config, expected);
    if (diff.length) throw new Error(`loadCheckpoint: ${path} holds a model of another shape: ${diff.join("; ")}`);
  }
  const step = file.header.step ?? 0;
  if (!(Number.isInteger(step) && (step as number) >= 0)) throw new Error(`loadCheckpoint: ${path}: header.step must be a whole number of steps ≥ 0; got ${shown(step)}`);
  const meta = file.header.meta ?? {};
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw new Error(`loadCheckpoint: ${path}: header.meta must be an object; got ${shown(meta)}`);
  const weights = new Map([...file.tensors].map(([name, t]) => [name, t.values]));
  return { model: GPT.fromWeights(config, weights), step: step as number, meta: meta as Record<string, unknown> };
}
