// Data pruning (lesson 04): scores of how hard each example is, selection of what to keep, and
// the teacher–student setting where pruning's effect on test error can be computed exactly.
export {
  budgetsWonWithScoring, computeFrontiers, crossover, equalCompute, fasterThan, powerLawsByFraction, pruningCurve, pruningRow,
  type EqualComputeRow,
} from "./analysis";
export { argmax, permutation, SoftmaxClassifier, trainClassifier, type ClassifierConfig, type SgdOptions } from "./classifier";
export { checkExamples, subsetExamples, type Examples } from "./examples";
export {
  localExponents, pruningExperiment, paretoFrontier, pruningScore, rankCorrelation, SCORE_NAMES, scoringCost, trainStudent,
  type PruningExperimentOptions, type PruningRow, type ScoreName, type ScoringOptions, type StudentOptions,
} from "./experiment";
export { kMeans, principalComponents, type KMeansOptions, type KMeansResult } from "./kmeans";
export {
  el2nScores, exampleEl2n, exampleGradNorms, ForgettingCounter, forgettingCounts, forgettingScores, grandScores, probeSeeds, prototypeScores, randomScores,
  type ProbeOptions, type PrototypeOptions,
} from "./scores";
export { KEEP_RULES, keptCount, selectByScore, type KeepRule, type SelectOptions } from "./select";
export {
  linearRule, linearStudentError, makeTeacher, normalCdf, teacherStudentData, teacherStudentError, type TeacherStudentData, type TeacherStudentOptions,
} from "./teacher";
