// Lesson 02: model-wise double descent, exactly, in random-features regression.
export {
  misspecificationError, randomFeaturesCurve, randomFeaturesSampleCurve, randomFeaturesTestError, ridgeWeights,
  type CurvePoint, type DoubleDescentOptions,
} from "./doubleDescent";
