// Data pruning (lesson 04): scores of how hard each example is, selection of what to keep, and
// the teacher–student setting where pruning's effect on test error can be computed exactly.
export {
  budgetsWonWithScoring, computeFrontiers, crossover, equalCompute, equalComputeWithScoring, fasterThan, powerLawsByFraction,
  pruningCurve, pruningRow, scoreAgreement, type BudgetRow, type EqualComputeRow, type FrontierPoint,
} from "./analysis";
export { argmax, permutation, SoftmaxClassifier, trainClassifier, type ClassifierConfig, type SgdOptions } from "./classifier";
export { checkExamples, subsetExamples, type Examples } from "./examples";
export {
  exampleFlops, localExponents, pruningExperiment, paretoFrontier, pruningScore, rankCorrelation, SCORE_NAMES, scoringFlops,
  studentFlops, trainStudent,
  type PoolShape, type PruningExperimentOptions, type PruningRow, type ScoreName, type ScoringOptions, type StudentOptions,
} from "./experiment";
export {
  convergedStudent, hebbianError, hebbianStudent, learningCurve,
  type ConvergedStudent, type ConvergedStudentOptions, type LearningCurveOptions,
} from "./learningCurves";
export { kMeans, principalComponents, type KMeansOptions, type KMeansResult } from "./kmeans";
export {
  el2nScores, exampleEl2n, exampleGradNorms, ForgettingCounter, forgettingCounts, forgettingScores, grandScores, probeSeeds, prototypeScores, randomScores,
  type ProbeOptions, type PrototypeOptions,
} from "./scores";
export { KEEP_RULES, keptCount, selectByScore, type KeepRule, type SelectOptions } from "./select";
export {
  linearRule, linearStudentError, makeTeacher, normalCdf, teacherStudentData, teacherStudentError, type TeacherStudentData, type TeacherStudentOptions,
} from "./teacher";
