// Kernel → Interrupt for the course's long loops. Jupyter interrupts a kernel with SIGINT; tslab
// then stops awaiting the cell and reports the kernel idle, but a loop that awaits between its
// steps (training, tuning, sweeps) would go on in the background, worker threads and all. The
// course's tslab patch calls the hooks in globalThis.__courseInterruptHooks from tslab's own
// SIGINT handler; here those hooks stop the loops at their next step with InterruptedError.
// Outside the kernel nothing calls them, and Ctrl-C ends a script as usual.

export class InterruptedError extends Error {
  override name = "InterruptedError";
}

/** Shared through globalThis: the kernel may compile this module more than once. */
const hooks = ((globalThis as { __courseInterruptHooks?: Set<() => void> }).__courseInterruptHooks ??= new Set());

/** Calls `listener` at each interrupt from now on, until the returned function is called. */
export function onInterrupt(listener: () => void): () => void {
  hooks.add(listener);
  return () => hooks.delete(listener);
}

/** A watch from now on: `check` throws InterruptedError, naming `what` and the progress given, once an interrupt has arrived. */
export function interruptWatch(what: string): { check(progress: string): void; dispose(): void } {
  let interrupted = false;
  const dispose = onInterrupt(() => { interrupted = true; });
  return {
    check(progress: string) {
      if (interrupted) throw new InterruptedError(`${what} interrupted ${progress} (Kernel → Interrupt)`);
    },
    dispose,
  };
}
