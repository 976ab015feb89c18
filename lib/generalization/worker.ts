// One run of the deep double-descent study in a worker thread (runDeepDoubleDescent with jobs > 1).
import { serveOnce } from "../core/threads";
import { trainNetRun, type DeepDoubleDescentDesign, type NetResult, type NetRun } from "./deepDoubleDescent";

await serveOnce<{ design: DeepDoubleDescentDesign; run: NetRun }, NetResult>(async ({ design, run }) => trainNetRun(design, run));
