// Working-memory accounting for the efficiency kernels. Each kernel allocates its scratch
// buffers through a tracker and frees them when it is done with them, so the peak it reports
// is measured from the code that ran, not computed from a formula. JavaScript frees memory
// when the garbage collector decides; `free` marks the moment the algorithm no longer needs
// the buffer, which is when a C or CUDA kernel would release it.

import { checkThat } from "../core/checks";

/**
 * The largest scratch buffer a tracker hands out: 2^28 float32s, 1 GiB. The kernels refuse larger
 * sizes at their door, naming the sizes the buffer comes from; this is the last line behind them.
 */
export const MAX_BUFFER_ELEMENTS = 2 ** 28;

export class MemoryTracker {
  private live = new Set<ArrayBufferView>();
  private liveBytes = 0;
  private peak = 0;

  constructor(private readonly owner: string) {}

  /** A zeroed float32 scratch buffer of `length` elements (at most MAX_BUFFER_ELEMENTS), counted until `free`. */
  float32(length: number): Float32Array {
    checkThat(Number.isInteger(length) && length >= 0 && length <= MAX_BUFFER_ELEMENTS, `MemoryTracker.float32 (for ${this.owner})`, "length", length,
      `an integer in [0, ${MAX_BUFFER_ELEMENTS}] (1 GiB of float32s)`);
    const array = new Float32Array(length);
    this.live.add(array);
    this.liveBytes += array.byteLength;
    this.peak = Math.max(this.peak, this.liveBytes);
    return array;
  }

  free(...arrays: ArrayBufferView[]): void {
    for (const array of arrays) {
      if (!this.live.delete(array)) throw new Error(`${this.owner}: freed a buffer of ${array.byteLength} bytes that is not live (freed twice, or not allocated by this tracker)`);
      this.liveBytes -= array.byteLength;
    }
  }

  /** Bytes held right now. */
  get currentBytes(): number {
    return this.liveBytes;
  }

  /** The largest total of bytes held at once. */
  get peakBytes(): number {
    return this.peak;
  }
}
