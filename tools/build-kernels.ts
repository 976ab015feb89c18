// npm run build:kernels
//
// Compiles the course's WebAssembly kernels (lib/core/kernels/*.c) with clang's wasm32 target, twice:
// with SIMD (<name>.wasm) and with relaxed SIMD's fused multiply-add (<name>.relaxed.wasm). Each
// source's SHA-256 is recorded beside its binaries so that a test catches a stale one. The .wasm
// files are versioned: only whoever edits a kernel needs clang ≥ 16 and lld (the relaxed SIMD
// opcodes of older clangs are a draft's that engines refuse; Debian 12: apt-get install clang-19 lld-19).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

import { writeFileAtomic } from "../lib/core/files";
import { KERNEL_EXPORTS, kernelProblems, relaxedSimdAvailable } from "../lib/core/wasmKernels";
import { ROOT } from "./runner";

const DIR = join(ROOT, "lib", "core", "kernels");
const CLANGS = ["clang-21", "clang-20", "clang-19", "clang-18", "clang-17", "clang-16", "clang"];

/** The first clang here that is version 16 or newer (CLANG names one explicitly). */
function findClang(): string {
  const found: string[] = [];
  for (const name of process.env.CLANG ? [process.env.CLANG] : CLANGS) {
    const r = spawnSync(name, ["--version"], { encoding: "utf8" });
    const major = Number(/clang version (\d+)/.exec(r.stdout ?? "")?.[1]);
    if (major >= 16) return name;
    if (major) found.push(`${name} ${major}`);
  }
  throw new Error(`build-kernels: needs clang ≥ 16 with lld${found.length ? `; found only ${found.join(", ")}` : ""} (Debian 12: apt-get install clang-19 lld-19; or set CLANG)`);
}

const VARIANTS = [
  { suffix: ".wasm", flags: ["-msimd128"] },
  { suffix: ".relaxed.wasm", flags: ["-msimd128", "-mrelaxed-simd", "-DRELAXED"] },
];

const clang = findClang();
// The relaxed build is checked by compiling it, which needs an engine that runs relaxed SIMD.
if (!relaxedSimdAvailable()) throw new Error("build-kernels: this Node cannot compile relaxed SIMD; use Node 20 or later");
for (const file of readdirSync(DIR).filter((f) => f.endsWith(".c"))) {
  const name = file.slice(0, -2);
  const exports = KERNEL_EXPORTS[name];
  if (!exports) throw new Error(`build-kernels: ${file} has no entry in KERNEL_EXPORTS (lib/core/wasmKernels.ts); list the functions it exports`);
  for (const { suffix, flags } of VARIANTS) {
    const tmp = join(DIR, `.${name}${suffix}.tmp`);
    const args = [
      "--target=wasm32", ...flags, "-O3", "-nostdlib", "-fno-builtin", "-Wall", "-Werror",
      // The memory is tfjs's (imported); the stack pointer is exported so the loader can place any stack inside memory it owns.
      "-Wl,--no-entry", "-Wl,--strip-all", "-Wl,--import-memory", ...[...exports, "__stack_pointer"].map((e) => `-Wl,--export=${e}`), "-o", tmp, join(DIR, file),
    ];
    const r = spawnSync(clang, args, { encoding: "utf8" });
    if (r.error || r.status !== 0) throw new Error(`build-kernels: ${clang} failed on ${file}: ${r.error?.message ?? r.stderr.trim()}`);
    const wasm = readFileSync(tmp);
    let problems: string[];
    try {
      problems = kernelProblems(wasm);
    } catch (err) {
      problems = [`does not compile: ${(err as Error).message}`];
    }
    if (problems.length) {
      rmSync(tmp);
      throw new Error(`build-kernels: ${file} (${suffix}) ${problems.join("; ")}`);
    }
    renameSync(tmp, join(DIR, `${name}${suffix}`));
    console.log(`${name}${suffix}: ${wasm.length} bytes, exports ${exports.join(", ")}`);
  }
  writeFileAtomic(join(DIR, `${name}.wasm.sha256`), `${createHash("sha256").update(readFileSync(join(DIR, file))).digest("hex")}\n`);
}
