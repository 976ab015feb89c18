// The course's folder, from this file's place in it. Importing this lets a tool run from any
// working directory: lib's projectRoot() looks at TSLAB_ROOT_DIR before searching upwards.
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
process.env.TSLAB_ROOT_DIR ||= ROOT;
