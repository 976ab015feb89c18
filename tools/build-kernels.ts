// npm run build:kernels
//
// Compiles the course's WebAssembly kernels (lib/core/kernels/*.c) with clang's wasm32 target and
// SIMD, and records each source's SHA-256 beside its .wasm so that a test catches a stale binary.
// The .wasm files are versioned: only whoever edits a kernel needs clang and lld
// (Debian: apt-get install clang lld).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

import { writeFileAtomic } from "../lib/core/files";
import { wasmApi } from "../lib/core/wasmKernels";
import { ROOT } from "./runner";

const DIR = join(ROOT, "lib", "core", "kernels");
/** What each kernel exports to JavaScript. */
const EXPORTS: Record<string, string[]> = { batch_matmul: ["matmul_batched", "transpose_batched", "__heap_base"] };

for (const file of readdirSync(DIR).filter((f) => f.endsWith(".c"))) {
  const name = file.slice(0, -2);
  const exports = EXPORTS[name];
  if (!exports) throw new Error(`build-kernels: ${file} has no entry in EXPORTS (tools/build-kernels.ts); list the functions it exports`);
  const tmp = join(DIR, `.${name}.wasm.tmp`);
  const args = [
    "--target=wasm32", "-msimd128", "-O3", "-nostdlib", "-fno-builtin", "-Wall", "-Werror",
    "-Wl,--no-entry", "-Wl,--strip-all", ...exports.map((e) => `-Wl,--export=${e}`), "-o", tmp, join(DIR, file),
  ];
  const r = spawnSync(process.env.CLANG ?? "clang", args, { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(`build-kernels: clang failed on ${file}: ${r.error?.message ?? r.stderr.trim()}\n(needs clang and lld with the wasm32 target; Debian: apt-get install clang lld)`);
  }
  const wasm = readFileSync(tmp);
  // A kernel that imports anything could not be instantiated with an empty import object.
  const imports = wasmApi.Module.imports(new wasmApi.Module(wasm));
  if (imports.length) {
    rmSync(tmp);
    throw new Error(`build-kernels: ${file} imports ${imports.map((i) => `${i.module}.${i.name}`).join(", ")}; kernels must be self-contained`);
  }
  renameSync(tmp, join(DIR, `${name}.wasm`));
  writeFileAtomic(join(DIR, `${name}.wasm.sha256`), `${createHash("sha256").update(readFileSync(join(DIR, file))).digest("hex")}\n`);
  console.log(`${name}.wasm: ${wasm.length} bytes, exports ${exports.join(", ")}`);
}
