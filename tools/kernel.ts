// A minimal Jupyter client for the tslab kernel: start it, execute cells, collect their
// outputs as nbformat 4 outputs, survive a kernel that dies or a cell that never ends.
// Speaks the Jupyter wire protocol directly (ZeroMQ + HMAC-SHA256), so running the
// course needs no Python.
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Dealer, Subscriber } from "zeromq";

import type { Output } from "./notebook";
import { PROGRESS_DISPLAY_PREFIX } from "../lib/core/display";

const DELIMITER = "<IDS|MSG>";

/** Kernels this process started and has not shut down: ended on exit or on a signal (see killAllKernels). */
const liveKernels = new Set<Kernel>();
const WATCHDOG = join(import.meta.dirname, "kernel-watchdog.mjs");

/** Ends every kernel this process started (on exit, error or signal: no kernel outlives its runner). */
export function killAllKernels(): void {
  for (const k of [...liveKernels]) k.shutdown();
}

let handlersInstalled = false;

/** Once per process: kernels die with it, whether it exits, is interrupted (Ctrl-C) or terminated. */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllKernels);
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => {
      killAllKernels();
      process.exit(code);
    });
  }
}

interface Message {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: { msg_id?: string };
  metadata: Record<string, unknown>;
  content: Record<string, any>;
}

export interface ExecuteResult {
  /** ok: ran to the end; error: threw or failed to compile; timeout: killed after `timeoutMs`; died: the kernel exited. */
  status: "ok" | "error" | "timeout" | "died";
  outputs: Output[];
  executionCount: number | null;
  /** Everything the cell wrote to stderr (tslab reports stacks and type errors there). */
  stderr: string;
  /** For `died`: the kernel process's exit code or signal and the tail of its own stderr. */
  detail?: string;
}

export interface KernelOptions {
  /** Command and arguments that start the kernel; `{connection_file}` is replaced. */
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How long to wait for the kernel to answer its first request. */
  startTimeoutMs?: number;
}

/** Collects the outputs of one execution, merging streams and applying display updates. */
class OutputCollector {
  outputs: Output[] = [];
  stderr = "";
  /** The text of the latest progress bar the cell drew or updated (lib/core/display's `progress`). */
  progressLine: string | null = null;
  private clearPending = false;

  add(type: string, content: Record<string, any>, byDisplayId: Map<string, Output[]>): void {
    const text = content.data?.["text/plain"];
    if (String(content.transient?.display_id).startsWith(PROGRESS_DISPLAY_PREFIX) && typeof text === "string") this.progressLine = text;
    if (type === "clear_output") {
      if (content.wait) this.clearPending = true;
      else this.outputs = [];
      return;
    }
    if (type === "update_display_data") {
      for (const out of byDisplayId.get(content.transient?.display_id) ?? []) {
        if (out.output_type === "display_data") {
          out.data = content.data;
          out.metadata = content.metadata ?? {};
        }
      }
      return;
    }
    if (this.clearPending) {
      this.outputs = [];
      this.clearPending = false;
    }
    if (type === "stream") {
      const last = this.outputs[this.outputs.length - 1];
      if (content.name === "stderr") this.stderr += content.text;
      if (last?.output_type === "stream" && last.name === content.name) last.text += content.text;
      else this.outputs.push({ output_type: "stream", name: content.name, text: content.text });
    } else if (type === "display_data") {
      const out: Output = { output_type: "display_data", data: content.data, metadata: content.metadata ?? {} };
      const id = content.transient?.display_id;
      if (id) byDisplayId.set(id, [...(byDisplayId.get(id) ?? []), out]);
      this.outputs.push(out);
    } else if (type === "execute_result") {
      this.outputs.push({
        output_type: "execute_result",
        data: content.data,
        metadata: content.metadata ?? {},
        execution_count: content.execution_count ?? null,
      });
    } else if (type === "error") {
      this.outputs.push({ output_type: "error", ename: content.ename, evalue: content.evalue, traceback: content.traceback ?? [] });
    }
  }
}

interface Pending {
  msgId: string;
  collector: OutputCollector;
  reply?: Message;
  idle: boolean;
  resolve: (r: ExecuteResult) => void;
  timer?: NodeJS.Timeout;
}

/** `n` ports free on 127.0.0.1 right now. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export class Kernel {
  private readonly shell = new Dealer();
  private readonly iopub = new Subscriber();
  private readonly session = randomUUID();
  private pending: Pending | null = null;
  /** Display ids live across cells: a later cell may update an earlier cell's display. */
  private readonly byDisplayId = new Map<string, Output[]>();
  private exited: string | null = null;
  private processStderr = "";
  private closed = false;
  private onStarted: ((msgId: string) => void) | null = null;

  private constructor(
    private readonly child: ChildProcess,
    private readonly key: string,
    private readonly connectionDir: string,
  ) {}

  static async start(options: KernelOptions): Promise<Kernel> {
    const [shellPort, iopubPort, stdinPort, controlPort, hbPort] = await freePorts(5);
    const key = randomBytes(32).toString("hex");
    const connectionDir = mkdtempSync(join(tmpdir(), "course-kernel-"));
    const connectionFile = join(connectionDir, "connection.json");
    writeFileSync(connectionFile, JSON.stringify({
      shell_port: shellPort, iopub_port: iopubPort, stdin_port: stdinPort, control_port: controlPort, hb_port: hbPort,
      ip: "127.0.0.1", key, transport: "tcp", signature_scheme: "hmac-sha256", kernel_name: "tslab",
    }));
    const [cmd, ...args] = options.argv.map((a) => a.replace("{connection_file}", connectionFile));
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    const kernel = new Kernel(child, key, connectionDir);
    installExitHandlers();
    liveKernels.add(kernel);
    // A SIGKILLed runner runs no handler: a watchdog process ends the kernel then.
    if (child.pid) spawn(process.execPath, [WATCHDOG, String(process.pid), String(child.pid)], { stdio: "ignore" }).unref();
    child.stdout!.on("data", (d: Buffer) => { kernel.processStderr = (kernel.processStderr + d.toString()).slice(-20_000); });
    child.stderr!.on("data", (d: Buffer) => { kernel.processStderr = (kernel.processStderr + d.toString()).slice(-20_000); });
    child.on("error", (err) => kernel.onExit(`could not start ${cmd}: ${err.message}`));
    child.on("exit", (code, signal) => kernel.onExit(signal ? `killed by ${signal}` : `exited with code ${code}`));

    kernel.shell.connect(`tcp://127.0.0.1:${shellPort}`);
    kernel.iopub.connect(`tcp://127.0.0.1:${iopubPort}`);
    kernel.iopub.subscribe();
    void kernel.readShell();
    void kernel.readIopub();
    await kernel.waitUntilReady(options.startTimeoutMs ?? 60_000);
    return kernel;
  }

  /** The kernel's own output (not cells'), for diagnosing a kernel that failed. */
  get log(): string {
    return this.processStderr;
  }

  /**
   * Early iopub messages are lost until the subscription connects, so ask for
   * kernel_info until its status message arrives on iopub.
   */
  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const sent = new Set<string>();
    const ready = new Promise<void>((resolve) => {
      this.onStarted = (msgId) => { if (sent.has(msgId)) resolve(); };
    });
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`the tslab kernel ${this.exited} before it was ready:\n${this.processStderr.trim()}`);
      sent.add(await this.send("kernel_info_request", {}));
      const ok = await Promise.race([ready.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 250))]);
      if (ok) { this.onStarted = null; return; }
    }
    this.shutdown();
    throw new Error(`the tslab kernel did not answer within ${timeoutMs / 1000} s:\n${this.processStderr.trim()}`);
  }

  private sign(parts: string[]): string {
    const h = createHmac("sha256", this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  private async send(msgType: string, content: Record<string, unknown>, msgId: string = randomUUID()): Promise<string> {
    const header = {
      msg_id: msgId, msg_type: msgType, session: this.session, username: "course",
      date: new Date().toISOString(), version: "5.3",
    };
    const parts = [JSON.stringify(header), "{}", "{}", JSON.stringify(content)];
    await this.shell.send([DELIMITER, this.sign(parts), ...parts]);
    return header.msg_id;
  }

  private parse(frames: Buffer[]): Message | null {
    const i = frames.findIndex((f) => f.toString() === DELIMITER);
    if (i < 0 || frames.length < i + 6) return null;
    const parts = frames.slice(i + 2, i + 6).map((f) => f.toString());
    if (this.sign(parts) !== frames[i + 1].toString()) return null; // not from our kernel
    const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p));
    return { header, parent_header, metadata, content };
  }

  private async readShell(): Promise<void> {
    try {
      for await (const frames of this.shell) {
        const msg = this.parse(frames);
        const p = this.pending;
        if (msg && p && msg.header.msg_type === "execute_reply" && msg.parent_header.msg_id === p.msgId) {
          p.reply = msg;
          this.maybeFinish();
        }
      }
    } catch {
      // socket closed
    }
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const msg = this.parse(frames);
        if (!msg) continue;
        const parent = msg.parent_header.msg_id ?? "";
        if (msg.header.msg_type === "status") this.onStarted?.(parent);
        const p = this.pending;
        if (!p || parent !== p.msgId) continue;
        if (msg.header.msg_type === "status") {
          if (msg.content.execution_state === "idle") p.idle = true;
        } else {
          p.collector.add(msg.header.msg_type, msg.content, this.byDisplayId);
        }
        this.maybeFinish();
      }
    } catch {
      // socket closed
    }
  }

  private maybeFinish(): void {
    const p = this.pending;
    if (!p || !p.reply || !p.idle) return;
    const status = p.reply.content.status === "ok" ? "ok" : "error";
    this.finish({ status, outputs: p.collector.outputs, executionCount: p.reply.content.execution_count ?? null, stderr: p.collector.stderr });
  }

  private finish(result: ExecuteResult): void {
    const p = this.pending;
    if (!p) return;
    clearTimeout(p.timer);
    this.pending = null;
    p.resolve(result);
  }

  private onExit(how: string): void {
    if (this.exited) return;
    this.exited = how;
    const p = this.pending;
    if (p) {
      this.finish({
        status: "died", outputs: p.collector.outputs, executionCount: null, stderr: p.collector.stderr,
        detail: `the kernel ${how}${this.processStderr.trim() ? `; its last words:\n${this.processStderr.trim().slice(-4000)}` : ""}`,
      });
    }
    this.close();
  }

  /** Runs one cell. Never rejects: failures come back as a status. */
  async execute(code: string, timeoutMs: number): Promise<ExecuteResult> {
    if (this.pending) throw new Error("Kernel.execute: a cell is already running");
    const collector = new OutputCollector();
    if (this.exited) {
      return { status: "died", outputs: [], executionCount: null, stderr: "", detail: `the kernel ${this.exited}` };
    }
    return new Promise<ExecuteResult>((resolve) => {
      const p: Pending = { msgId: randomUUID(), collector, idle: false, resolve };
      this.pending = p;
      p.timer = setTimeout(() => {
        // A cell past its time may be stuck in synchronous code that no interrupt reaches: kill the kernel.
        this.finish({ status: "timeout", outputs: collector.outputs, executionCount: null, stderr: collector.stderr });
        this.shutdown();
      }, timeoutMs);
      const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true };
      // The id is chosen before sending so that no reply can arrive before it is known.
      this.send("execute_request", content, p.msgId).catch(() => {});
    });
  }

  /** The running cell's latest progress line, if it draws one. */
  get progressLine(): string | null {
    return this.pending?.collector.progressLine ?? null;
  }

  /** Kernel → Interrupt, as Jupyter sends it to a kernel whose interrupt mode is "signal": SIGINT. */
  interrupt(): void {
    if (!this.exited) this.child.kill("SIGINT");
  }

  /** The kernel's process id (to watch its CPU time). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Kills the kernel process and closes the sockets. Idempotent. */
  shutdown(): void {
    if (!this.exited) this.child.kill("SIGKILL");
    liveKernels.delete(this);
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.shell.close();
    this.iopub.close();
    rmSync(this.connectionDir, { recursive: true, force: true });
  }
}
