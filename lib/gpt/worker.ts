// One data-parallel training worker: a replica of the model on its own backend. It answers
// the main thread's requests in order: the gradient of a shard of rows (into its region of
// shared memory), the AdamW update from the averaged gradient, losses of evaluation batches,
// or its weights.
import { parentPort } from "node:worker_threads";

import { chooseBackend, parseBackendName } from "../core/backend";
import { threadError, workerPayload } from "../core/threads";
import { AdamW } from "./adamw";
import { GPT } from "./model";
import { batchLoss, shardGradients, type FromWorker, type ToWorker, type WorkerSetup } from "./parallel";
import { modelParameters } from "./train";

const port = parentPort!;
const setup = workerPayload<WorkerSetup>();
const reply = (m: FromWorker) => port.postMessage(m);
const replyError = (err: unknown) => reply(threadError(err));

/** Test hook: COURSE_WORKER_FAULT="throw:N" or "exit:N" makes worker 1 fail at its Nth gradient request. */
const fault = /^(throw|exit):(\d+)$/.exec(process.env.COURSE_WORKER_FAULT ?? "");

try {
  await chooseBackend(parseBackendName(setup.backend, "worker backend"));
  const model = GPT.fromWeights(setup.config, new Map(setup.weights));
  const optimizer = new AdamW(modelParameters(model), setup.optimizer);
  const P = optimizer.variables.reduce((s, v) => s + v.size, 0);
  const averaged = new Float32Array(setup.shared, 0, P);
  const mine = new Float32Array(setup.shared, setup.index * P * 4, P);
  let requests = 0;
  // Requests are handled one at a time, in the order sent: an update must finish before the next gradient.
  let queue = Promise.resolve();
  const handle = async (m: ToWorker) => {
    try {
      if (m.type === "grad") {
        requests += 1;
        if (fault && setup.index === 1 && requests === Number(fault[2])) {
          if (fault[1] === "exit") process.exit(3);
          throw new Error(`injected fault at gradient request ${requests} (COURSE_WORKER_FAULT)`);
        }
        reply({ type: "grad", loss: await shardGradients(model, optimizer.variables, m, mine) });
      } else if (m.type === "apply") {
        await optimizer.step(averaged, m.learningRate);
      } else if (m.type === "losses") {
        const losses: number[] = [];
        for (const b of m.batches) losses.push(await batchLoss(model, b));
        reply({ type: "losses", losses });
      } else if (m.type === "weights") {
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
