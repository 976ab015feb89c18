// Lesson 02: model-wise double descent, exactly, in random-features regression.
export { randomFeaturesCurve, randomFeaturesSampleCurve, type CurvePoint, randomFeaturesTestError, ridgeWeights, type DoubleDescentOptions } from "./doubleDescent";
