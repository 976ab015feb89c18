// Lesson 02: model-wise double descent, exactly, in random-features regression, and with every weight of a network trained.
export {
  misspecificationError, randomFeaturesCurve, randomFeaturesSampleCurve, randomFeaturesTestError, ridgeWeights,
  type CurvePoint, type DoubleDescentOptions,
} from "./doubleDescent";
export {
  deepDoubleDescentDesign, deepDoubleDescentStudy, initTwoLayerNet, liveNetRuns, lossAndGradient, meanSquaredError, netOutputs, netRuns, readNetResults, readWidthCurve,
  runDeepDoubleDescent, storedNetResults, storedNetStudyPath, teacherData, trainNetRun, trainNetRuns, trainTwoLayerNet, twoLayerParams, widthCurve,
  type DeepDoubleDescentDesign, type NetResult, type NetRun, type TwoLayerNet, type WidthPoint,
} from "./deepDoubleDescent";
