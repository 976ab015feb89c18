// One data-parallel training worker: a replica of the model on its own backend. It answers the
// main thread's requests in order (lib/gpt/parallel.ts describes the phases): the gradient of a
// shard of rows into its region of shared memory, the reduction of its slice of parameters, the
// AdamW update of that slice, losses of evaluation batches, or its weights. A request that comes
// after an update first loads the updated weights.
import { parentPort } from "node:worker_threads";

import { chooseBackend, parseBackendName } from "../core/backend";
import { threadError, workerPayload } from "../core/threads";
import { assignWeights } from "./adamw";
import { GPT } from "./model";
import { batchLoss, reduceSlice, shardGradients, threadShare, type FromWorker, type ToWorker, type WorkerSetup } from "./parallel";

const port = parentPort!;
const setup = workerPayload<WorkerSetup>();
const reply = (m: FromWorker) => port.postMessage(m);
const replyError = (err: unknown) => reply(threadError(err));

/** Test hook: COURSE_WORKER_FAULT="throw:N" or "exit:N" makes worker 1 fail at its Nth gradient request. */
const fault = /^(throw|exit):(\d+)$/.exec(process.env.COURSE_WORKER_FAULT ?? "");

try {
  await chooseBackend(parseBackendName(setup.backend, "worker backend"));
  const model = GPT.fromWeights(setup.config, new Map(setup.weights));
  const { vars, layout, slice, optimizer } = threadShare(model, setup.shared, setup.workers, setup.index, setup.optimizer, setup.updatesBefore);
  const refresh = (reload: boolean) => reload && assignWeights(vars, layout.weights);
  let requests = 0;
  // Requests are handled one at a time, in the order sent.
  let queue = Promise.resolve();
  const handle = async (m: ToWorker) => {
    try {
      if (m.type === "grad") {
        requests += 1;
        if (fault && setup.index === 1 && requests === Number(fault[2])) {
          if (fault[1] === "exit") process.exit(3);
          throw new Error(`injected fault at gradient request ${requests} (COURSE_WORKER_FAULT)`);
        }
        refresh(m.reload);
        reply({ type: "grad", loss: await shardGradients(model, vars, m, layout.grads[setup.index]) });
      } else if (m.type === "reduce") {
        reply({ type: "reduced", ...reduceSlice(layout, slice, m.coefficients, m.first) });
      } else if (m.type === "apply") {
        optimizer.update(layout.averaged, layout.weights, m.learningRate, m.clip);
        reply({ type: "applied" });
      } else if (m.type === "losses") {
        refresh(m.reload);
        const losses: number[] = [];
        for (const b of m.batches) losses.push(await batchLoss(model, b));
        reply({ type: "losses", losses });
      } else if (m.type === "weights") {
        refresh(m.reload);
        reply({ type: "weights", weights: [...(await model.weights())] });
      }
    } catch (err) {
      replyError(err);
    }
  };
  port.on("message", (m: ToWorker) => {
    queue = queue.then(() => handle(m));
  });
  reply({ type: "ready" });
} catch (err) {
  replyError(err);
}
