// What every lesson stands on: the tensor backend, notebook output (charts, tables, progress),
// text data and tokenizers, the course's scale, the machine's speed and threads, files and interrupts.
export { BACKENDS, chooseBackend, initBackend, parseBackendName, type BackendInfo, type BackendName } from "./backend";
export { chart, COLORS, movingAverage, type ChartOptions, type Series } from "./chart";
export { CharTokenizer, loadDataset, sampleBatch, splitTrainVal, splitTrainValTest, type Batch, type Tokenizer } from "./data";
export {
  displayBundle, inKernel, livePlot, plot, progress, table, type LivePlot, type PlotlyFigure, type Progress, type TableLike,
} from "./display";
export { writeFileAtomic } from "./files";
export { minimizeLbfgs, type LbfgsOptions, type LbfgsResult, type LbfgsStop, type Objective } from "./lbfgs";
export {
  fitOffsetPowerLaw, fitPowerLaw, meanInterval, percentileInterval, quantile, signTestP, solveSpd, tQuantile95,
  type Interval, type MeanInterval, type OffsetPowerLawFit, type OffsetPowerLawOptions, type PowerLawFit,
} from "./numerics";
export { InterruptedError } from "./interrupt";
export { cpuDescription, environmentReport, measureMatmul, packageVersion, type MatmulMeasurement } from "./machine";
export { projectRoot } from "./paths";
export { geometricStep, ladderRate, sweepRates, type RateSweepState } from "./rateSweep";
export { Random } from "./random";
export { atScale, courseScale, describeScale, parseScale, SCALES, setScale, type Scale } from "./scale";
export { usefulThreads } from "./threads";
