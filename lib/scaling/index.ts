// Lesson 03: scaling-law fits (power laws, Kaplan's joint law, Chinchilla's approach 3 with bootstrap
// intervals and approach 2 with IsoFLOP parabolas, compute-optimal allocation, published values)
// and the IsoFLOP sweep of small GPTs on the King James Bible they are fitted to (lessons 02 and 03).
export {
  analyseIsoflop, budgetOf, differenceBar, isoflopPoints, isoflopSeries, noiseAt, lossAtTokens, lossComputeFrontier, powerLawWithInterval, regimes, sampleEfficiency, seedNoise,
  stopEarlyComparison, sweepParts, COUNTINGS, type Counting, type IsoflopAnalysis, type SeedNoise, type StopEarlyRow,
} from "./analysis";
export { countingRows, countingShares, describeCountings, fitsByCounting, type CountedFits } from "./counting";
export { bootstrapChinchilla, type BootstrapOptions, type ChinchillaBootstrap } from "./bootstrap";
export {
  chinchillaData, chinchillaLoss, chinchillaObjective, fitChinchilla, HOFFMANN_GRID, REDUCED_GRID,
  type ChinchillaData, type ChinchillaFit, type ChinchillaFitOptions, type ChinchillaGrid, type ChinchillaParams,
} from "./chinchilla";
export { computeOptimal, trainingFlops, type ComputeOptimal } from "./compute";
export {
  compareShapes, describeForecast, describeRegistered, describeShapes, forecastBeyond, forecastError, forecastRows, parseRegisteredForecast,
  shapeRows, type BudgetForecast, type Forecast, type RegisteredForecast, type ShapeComparison,
} from "./forecast";
export { isoflopFit, type IsoflopFit, type IsoflopMinimum, type IsoflopOptions, type IsoflopPoint } from "./isoflop";
export { fitKaplanJoint, kaplanLoss, type KaplanFit, type KaplanFitOptions, type KaplanParams } from "./kaplan";
export { ngramBaseline, ngramCrossEntropy, type NgramBaseline, ngramSampler } from "../core/ngram";
export { oneVariableLaws, oneVariableRows, type OneVariableLaw } from "./oneVariable";
export { CHINCHILLA_2022, HESTNESS_2017, KAPLAN_2020 } from "./reference";
export { isoflopDesign, logSpace, sampleLosses, type IsoflopDesignOptions, type NoiseOptions, type RunDesign } from "./synthetic";
export type { ScalingPoint } from "./point";
export {
  readSweepResults, registeredForecast, runScalingSweep, runSweep, scalingSweep, storedSweepPath, strayResults, upgradeSweepResults,
  type ScalingSweepOptions, type SweepOptions,
} from "./sweep";
export {
  budgetSizes, isoflopRuns, learningRateRuns, learningRateStepRuns, runId, scalingDesign, shapeName, sweepContext, tuneLearningRates,
  type ScalingDesign, type ScalingSweep, type Shape, type SweepData, type SweepResult, type SweepRun, type TunedRate,
} from "./sweepDesign";
export {
  bestGuessLoss, curvePoints, fitThreeRegions, learningCurveDesign, learningCurveStudy, pooledSeedSd, readCurveResults, regionBoundaries,
  runLearningCurve, storedCurvePath,
  storedCurveResults, threeRegionLoss, type CurveResult, type LearningCurveDesign, type ThreeRegionFit,
} from "./learningCurve";
