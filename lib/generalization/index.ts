// Lesson 02: model-wise double descent, exactly, in random-features regression, and with every weight of a network trained.
export {
  misspecificationError, randomFeaturesCurve, randomFeaturesSampleCurve, randomFeaturesTestError, ridgeWeights,
  type CurvePoint, type DoubleDescentOptions,
} from "./doubleDescent";
export {
  deepDoubleDescentDesign, initTwoLayerNet, lossAndGradient, meanSquaredError, netOutputs, netRuns, readNetResults, readWidthCurve,
  runDeepDoubleDescent, storedNetResults, storedNetStudyPath, teacherData, trainNetRun, trainTwoLayerNet, twoLayerParams, widthCurve,
  type DeepDoubleDescentDesign, type NetResult, type NetRun, type TwoLayerNet, type WidthPoint,
} from "./deepDoubleDescent";
