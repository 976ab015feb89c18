// Entry of a data-parallel training worker (lib/gpt/parallel.ts): a worker thread starts as
// plain Node, so it registers tsx to load the course's TypeScript, then runs the worker.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
