// Data pruning (lesson 04): scores of how hard each example is, selection of what to keep, and
// the teacher–student setting where pruning's effect on test error can be computed exactly.
export {
  budgetsWonWithScoring, computeFrontiers, crossover, differenceVerdict, equalCompute, equalComputeWithScoring, fasterThan,
  powerLawsByFraction, powerLawsInCompute, prunedAgainstWhole,
  pruningCurve, pruningRow, scoreAgreement, seedDifference, type BudgetRow, type EqualComputeRow, type FrontierPoint,
} from "./analysis";
export { argmax, permutation, SoftmaxClassifier, trainClassifier, type ClassifierConfig, type SgdOptions } from "./classifier";
export { checkExamples, subsetExamples, type Examples } from "./examples";
export {
  localExponents, pruningExperiment, paretoFrontier, pruningScore, rankCorrelation, SCORE_NAMES, scoringFlops,
  type PoolShape, type PruningExperimentOptions, type PruningRow, type ScoreName, type ScoringOptions,
} from "./experiment";
export { hebbianError, learningCurve, type LearningCurveOptions } from "./learningCurves";
export {
  convergedStudent, exampleFlops, fitStudent, hebbianStudent, newtonFlops, studentFlops, trainStudent,
  type ConvergedStudent, type ConvergedStudentOptions, type PruningStudent, type StudentOptions,
} from "./students";
export { kMeans, principalComponents, type KMeansOptions, type KMeansResult } from "./kmeans";
export {
  el2nScores, exampleEl2n, exampleGradNorms, ForgettingCounter, forgettingCounts, forgettingScores, grandScores, probeSeeds, prototypeScores, randomScores,
  type ProbeOptions, type PrototypeOptions,
} from "./scores";
export { KEEP_RULES, keptCount, selectByScore, type KeepRule, type SelectOptions } from "./select";
export {
  linearRule, linearStudentError, makeTeacher, normalCdf, teacherStudentData, teacherStudentError, type TeacherStudentData, type TeacherStudentOptions,
} from "./teacher";
