// Where the course lives on disk: the folder above this file holding the course's package.json.
// lib finds it from its own location, so a script or notebook anywhere can import the course's lib;
// TSLAB_ROOT_DIR and the working directory are fallbacks for a lib copied out of the course.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE_NAME = "foundation-models-course";

function isCourseRoot(dir: string): boolean {
  const pkg = join(dir, "package.json");
  return existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === PACKAGE_NAME;
}

/** The nearest folder at or above `start` holding the course's package.json. */
function courseAbove(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isCourseRoot(dir)) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** This file's folder. lib runs as CommonJS in the kernel (tslab compiles it so), where `__dirname`
 * exists, and as an ES module under tsx and vitest, where `import.meta` would not compile for the
 * kernel; there the first call site names the file. */
export function ownFolder(): string | undefined {
  if (typeof __dirname === "string") return __dirname;
  const saved = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[] | undefined;
    const file = Array.isArray(sites) ? sites[0]?.getFileName() : undefined;
    if (!file) return undefined;
    return dirname(file.startsWith("file:") ? fileURLToPath(file) : file);
  } finally {
    Error.prepareStackTrace = saved;
  }
}

let root: string | undefined;

/** The course's root folder: the one holding this lib, else TSLAB_ROOT_DIR, else the nearest ancestor of the working directory. */
export function projectRoot(): string {
  if (root) return root;
  const own = ownFolder();
  const found = (own && courseAbove(own))
    ?? (process.env.TSLAB_ROOT_DIR && isCourseRoot(process.env.TSLAB_ROOT_DIR) ? resolve(process.env.TSLAB_ROOT_DIR) : undefined)
    ?? courseAbove(process.cwd());
  if (found) return (root = found);
  throw new Error(`cannot find the course folder (a package.json named "${PACKAGE_NAME}") above ${own ?? "lib"} or ${process.cwd()}; keep lib inside the course folder or set TSLAB_ROOT_DIR to it`);
}

/** Resolves a package file as the course's own node_modules would. */
export function resolvePackageFile(specifier: string): string {
  return createRequire(join(projectRoot(), "package.json")).resolve(specifier);
}
