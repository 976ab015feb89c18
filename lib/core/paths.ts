// Where the course lives on disk. Lessons run with the notebook's folder as working directory,
// scripts with wherever they were started, so the root is found, not assumed.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const PACKAGE_NAME = "foundation-models-course";

function isCourseRoot(dir: string): boolean {
  const pkg = join(dir, "package.json");
  return existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === PACKAGE_NAME;
}

let root: string | undefined;

/** The course's root folder: TSLAB_ROOT_DIR (set for the kernel), else the nearest ancestor of the working directory holding the course's package.json. */
export function projectRoot(): string {
  if (root) return root;
  const fromEnv = process.env.TSLAB_ROOT_DIR;
  if (fromEnv && isCourseRoot(fromEnv)) return (root = resolve(fromEnv));
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (isCourseRoot(dir)) return (root = dir);
    if (dirname(dir) === dir) break;
  }
  throw new Error(`cannot find the course folder (a package.json named "${PACKAGE_NAME}") above ${process.cwd()}; run from inside the course or set TSLAB_ROOT_DIR`);
}

/** Resolves a package file as the course's own node_modules would. */
export function resolvePackageFile(specifier: string): string {
  return createRequire(join(projectRoot(), "package.json")).resolve(specifier);
}
