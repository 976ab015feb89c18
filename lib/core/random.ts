// A small seeded random generator: the same seed gives the same batches, initial weights
// and samples on every backend, because nothing here depends on the backend.
import { checkInteger, checkNumber, refuse } from "./checks";

/** Mulberry32: 32-bit state, fast, good enough for sampling and initialisation. */
export class Random {
  private state: number;

  constructor(seed: number) {
    checkNumber("Random", "seed", seed);
    this.state = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** The generator's whole state: `Random.resume(r.saved())` continues exactly where `r` is. */
  saved(): number {
    return this.state;
  }

  /** A generator that continues from a state `saved()` returned. */
  static resume(state: number): Random {
    checkInteger("Random.resume", "state", state, 0, 0xffffffff);
    const random = new Random(0);
    random.state = state;
    return random;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    // Called once per draw: the test stays inline, and only a failure builds the message.
    if (!(n >= 1 && Number.isInteger(n))) refuse("Random.int", "n", n, "a positive integer (draws lie in [0, n))");
    return Math.floor(this.next() * n);
  }

  /** Standard normal, by Box–Muller. */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` draws from N(0, std²) as float32. */
  normals(n: number, std: number): Float32Array {
    checkInteger("Random.normals", "n", n, 0);
    checkNumber("Random.normals", "std", std, 0);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * std;
    return out;
  }
}
