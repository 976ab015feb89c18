// The fast tests: every unit and library test, without the ones that run whole lessons in
// kernels, Jupyter or a browser (minutes each). CI runs these on the Node versions besides the one
// that runs the full suite; `npm run test:fast` runs them anywhere.
import { configDefaults, defineConfig, mergeConfig } from "vitest/config";

import base from "./vitest.config";

export const SLOW_TESTS = ["tests/lessons.test.ts", "tests/runner.test.ts", "tests/webgpu.test.ts", "tests/kernel-robustness.test.ts", "tests/jupyter-ui.test.ts", "tests/jupyterlab.test.ts"];

export default mergeConfig(base, defineConfig({ test: { exclude: [...configDefaults.exclude, ...SLOW_TESTS] } }));
