// Checkpoints: one file holding a JSON header (config, step, anything the caller adds) and
// the weights as little-endian float32, written atomically. Loading refuses a checkpoint
// whose config differs from the one expected, naming every difference.
import { readFileSync } from "node:fs";

import { writeFileAtomic } from "../files";
import { GPT, parameterSpecs, validateConfig, type GPTConfig } from "./model";

const MAGIC = "GPTCKPT1";

export interface CheckpointHeader {
  config: GPTConfig;
  /** Optimizer steps taken when saved. */
  step: number;
  /** Anything else worth keeping (tokenizer, training settings, losses). */
  meta: Record<string, unknown>;
  params: { name: string; shape: number[] }[];
}

export function saveCheckpoint(path: string, model: GPT, info: { step?: number; meta?: Record<string, unknown> } = {}): void {
  const specs = parameterSpecs(model.config);
  const header: CheckpointHeader = {
    config: model.config, step: info.step ?? 0, meta: info.meta ?? {},
    params: specs.map((s) => ({ name: s.name, shape: s.shape })),
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  // Pad the header so the float32 data starts 4-byte aligned.
  const headerBytes = Math.ceil((json.length + MAGIC.length + 4) / 4) * 4 - MAGIC.length - 4;
  const weights = model.weights();
  const floats = specs.reduce((n, s) => n + weights.get(s.name)!.length, 0);
  const out = Buffer.alloc(MAGIC.length + 4 + headerBytes + floats * 4, 0x20);
  out.write(MAGIC, 0, "ascii");
  out.writeUInt32LE(headerBytes, MAGIC.length);
  json.copy(out, MAGIC.length + 4);
  let offset = MAGIC.length + 4 + headerBytes;
  for (const s of specs) {
    const values = weights.get(s.name)!;
    for (let i = 0; i < values.length; i++, offset += 4) out.writeFloatLE(values[i], offset);
  }
  writeFileAtomic(path, out);
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
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`loadCheckpoint: cannot read ${path} (${(err as Error).message})`);
  }
  if (buf.length < MAGIC.length + 4 || buf.toString("ascii", 0, MAGIC.length) !== MAGIC) {
    throw new Error(`loadCheckpoint: ${path} is not a checkpoint (expected a file starting with "${MAGIC}")`);
  }
  const headerBytes = buf.readUInt32LE(MAGIC.length);
  const header = JSON.parse(buf.toString("utf8", MAGIC.length + 4, MAGIC.length + 4 + headerBytes)) as CheckpointHeader;
  const config = validateConfig(header.config);
  if (expected) {
    const diff = configDifferences(config, expected);
    if (diff.length) throw new Error(`loadCheckpoint: ${path} holds a model of another shape: ${diff.join("; ")}`);
  }
  const specs = parameterSpecs(config);
  const weights = new Map<string, Float32Array>();
  let offset = MAGIC.length + 4 + headerBytes;
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (offset + n * 4 > buf.length) throw new Error(`loadCheckpoint: ${path} is truncated in parameter ${s.name}`);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++, offset += 4) values[i] = buf.readFloatLE(offset);
    weights.set(s.name, values);
  }
  if (offset !== buf.length) throw new Error(`loadCheckpoint: ${path} has ${buf.length - offset} bytes after the last parameter; expected none`);
  return { model: GPT.fromWeights(config, weights), step: header.step, meta: header.meta };
}
