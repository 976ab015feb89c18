// Entry of every worker thread the course starts (lib/core/threads.ts): a worker starts as plain
// Node, so it registers tsx to load the course's TypeScript, then runs the module it was given.
import { pathToFileURL } from "node:url";
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(pathToFileURL(workerData.module).href);
