// The public surface lessons import: `import { initBackend, plot, table } from "../lib";`
export * as tf from "@tensorflow/tfjs";
export { BACKENDS, chooseBackend, initBackend, parseBackendName, type BackendInfo, type BackendName } from "./backend";
export { displayBundle, inKernel, plot, progress, table, type PlotlyFigure, type Progress, type TableLike } from "./display";
export { environmentReport, measureMatmul, packageVersion, type MatmulMeasurement } from "./machine";
export { projectRoot } from "./paths";
export { atScale, courseScale, parseScale, SCALES, type Scale } from "./scale";
