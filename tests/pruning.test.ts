import { describe, expect, it } from "vitest";

import {
  budgetsWonWithScoring, computeFrontiers, crossover, el2nScores, equalCompute, equalComputeWithScoring, exampleFlops, fasterThan,
  convergedStudent, fitStudent, hebbianError, hebbianStudent, learningCurve, newtonFlops, powerLawsByFraction, pruningRow, scoreAgreement,
  differenceVerdict, powerLawsInCompute, prunedAgainstWhole, scoringFlops, seedDifference, studentFlops,
  exampleEl2n, exampleGradNorms, forgettingCounts, forgettingScores, grandScores, kMeans, linearStudentError, localExponents, makeTeacher,
  normalCdf, paretoFrontier, principalComponents, probeSeeds, prototypeScores, pruningExperiment, randomScores, rankCorrelation, selectByScore, SoftmaxClassifier,
  subsetExamples, teacherStudentData, teacherStudentError, trainClassifier, trainStudent, type Examples, type ProbeOptions,
} from "../lib/pruning";
import { fitPowerLaw } from "../lib/core/numerics";
import { Random } from "../lib/core/random";

const examples = (rows: number[][], labels: number[], classes = 2): Examples => ({
  x: Float64Array.from(rows.flat()), labels: Int32Array.from(labels), dim: rows[0].length, classes,
});

describe("EL2N and GraNd on a 2-class linear model, by hand", () => {
  // W₀ = 0, b₀ = 0; W₁ = (ln3/5, 2·ln3/5), b₁ = 0. For x = (1, 2): z₁ − z₀ = ln 3, so p = (1/4, 3/4).
  const ln3 = Math.log(3);
  const model = new SoftmaxClassifier({ inputDim: 2, classes: 2, hidden: 0 }, Float64Array.from([0, 0, ln3 / 5, (2 * ln3) / 5, 0, 0]));
  const data = examples([[1, 2], [1, 2]], [1, 0]);

  it("EL2N is ‖p − onehot(y)‖₂: √2/4 for the right label, √2·3/4 for the wrong one", () => {
    const probs = model.probabilities(data);
    expect(probs[0]).toBeCloseTo(0.25, 12);
    expect(probs[1]).toBeCloseTo(0.75, 12);
    const el2n = exampleEl2n(model, data);
    expect(el2n[0]).toBeCloseTo(Math.SQRT2 / 4, 12);
    expect(el2n[1]).toBeCloseTo((3 * Math.SQRT2) / 4, 12);
  });

  it("GraNd is ‖(p − onehot(y)) ⊗ (x, 1)‖ = EL2N·√(‖x‖² + 1) = EL2N·√6 for a linear model", () => {
    const grand = exampleGradNorms(model, data);
    expect(grand[0]).toBeCloseTo((Math.SQRT2 / 4) * Math.sqrt(6), 12);
    expect(grand[1]).toBeCloseTo(((3 * Math.SQRT2) / 4) * Math.sqrt(6), 12);
  });
});

describe("per-example gradients", () => {
  it("match central finite differences of the loss, for a linear model and a one-hidden-layer network", () => {
    const r = new Random(3);
    const data = examples(Array.from({ length: 4 }, () => [r.normal(), r.normal(), r.normal()]), [0, 2, 1, 2], 3);
    for (const hidden of [0, 4]) {
      const model = SoftmaxClassifier.init({ inputDim: 3, classes: 3, hidden }, 11);
      for (let i = 0; i < 4; i++) {
        const grad = new Float64Array(model.params.length);
        model.accumulateGradient(data.x, i, data.labels[i], grad);
        const one = subsetExamples(data, [i]);
        const h = 1e-6;
        for (let j = 0; j < model.params.length; j++) {
          const plus = model.clone(), minus = model.clone();
          plus.params[j] += h;
          minus.params[j] -= h;
          const numeric = (plus.meanLoss(one) - minus.meanLoss(one)) / (2 * h);
          expect(grad[j]).toBeCloseTo(numeric, 6);
        }
      }
    }
  });

  it("training lowers the loss, is deterministic under a seed, and presents every example once per epoch", () => {
    const teacher = makeTeacher(5, 1);
    const data = teacherStudentData(teacher, { n: 60, seed: 2 });
    const before = SoftmaxClassifier.init({ inputDim: 5, classes: 2, hidden: 3 }, 4);
    const run = () => {
      const seen = new Int32Array(60);
      const model = trainClassifier(before.clone(), data, { epochs: 3, batchSize: 7, learningRate: 0.3, seed: 9, onPresented: (i) => seen[i]++ });
      return { model, seen };
    };
    const a = run(), b = run();
    expect(a.model.meanLoss(data)).toBeLessThan(before.meanLoss(data));
    expect(Array.from(a.model.params)).toEqual(Array.from(b.model.params));
    expect(Array.from(a.seen)).toEqual(new Array(60).fill(3));
  });
});

describe("forgetting", () => {
  it("counts correct → wrong transitions on a scripted history; never learned is Infinity", () => {
    const T = true, F = false;
    const counts = forgettingCounts([[T, F, T, F], [F, F, F], [T, T, T], [F, T, F, T, T], [], [F, T]]);
    expect(Array.from(counts)).toEqual([2, Infinity, 0, 1, Infinity, 0]);
    expect(() => forgettingCounts([])).toThrow("forgettingCounts: history must be one array of presentations per example; got []");
  });

  it("an input that appears with both labels is forgotten or never learned; well-separated examples are not forgotten", () => {
    // Two clusters far apart, plus the point (0.1, 0) given label 0 and label 1.
    const rows = [[3, 0], [3.5, 0.5], [4, -0.5], [-3, 0], [-3.5, 0.5], [-4, -0.5], [0.1, 0], [0.1, 0]];
    const data = examples(rows, [1, 1, 1, 0, 0, 0, 0, 1]);
    const scores = forgettingScores(data, { hidden: 0, epochs: 30, batchSize: 1, learningRate: 0.5, runs: 1, seed: 1 });
    for (let i = 0; i < 6; i++) expect(scores[i]).toBe(0);
    expect(Math.min(scores[6], scores[7])).toBeGreaterThanOrEqual(1);
  });
});

describe("prototype score and its k-means", () => {
  it("k-means finds two 1-D clusters by hand: centroids 0.5 and 10.5, every distance 0.5", () => {
    const result = kMeans(Float64Array.from([0, 1, 10, 11]), 1, { k: 2, seed: 3 });
    expect(Array.from(result.centroids).sort((a, b) => a - b)).toEqual([0.5, 10.5]);
    expect(Array.from(result.distances)).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(result.inertia).toBeCloseTo(1, 12);
    expect(result.assignments[0]).toBe(result.assignments[1]);
    expect(result.assignments[0]).not.toBe(result.assignments[2]);
    // With 5 added, the best split is {0, 1, 5} (centroid 2) and {10, 11} (centroid 10.5).
    expect(Array.from(prototypeScores(Float64Array.from([0, 1, 10, 11, 5]), 1, { k: 2, seed: 3 }))).toEqual([2, 1, 0.5, 0.5, 3]);
  });

  it("k-means is deterministic under a seed and refuses k larger than the number of points", () => {
    const r = new Random(1);
    const points = Float64Array.from({ length: 200 }, () => r.normal());
    const a = kMeans(points, 2, { k: 5, seed: 7 }), b = kMeans(points, 2, { k: 5, seed: 7 });
    expect(Array.from(a.centroids)).toEqual(Array.from(b.centroids));
    expect(() => kMeans(Float64Array.from([1, 2]), 1, { k: 3, seed: 1 })).toThrow("kMeans: k must be an integer in [1, 2]");
    expect(() => kMeans(new Float64Array(0), 1, { k: 1, seed: 1 })).toThrow("kMeans: points must be at least one point; got an empty Float64Array");
  });

  it("principal components recover a 2-D covariance's eigenvectors and eigenvalues", () => {
    const r = new Random(2);
    const n = 2000;
    const points = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const a = 3 * r.normal(), b = r.normal();
      points[2 * i] = a * Math.cos(0.4) - b * Math.sin(0.4);
      points[2 * i + 1] = a * Math.sin(0.4) + b * Math.cos(0.4);
    }
    // Closed form for the sample covariance [[sxx, sxy], [sxy, syy]].
    let mx = 0, my = 0;
    for (let i = 0; i < n; i++) { mx += points[2 * i] / n; my += points[2 * i + 1] / n; }
    let sxx = 0, sxy = 0, syy = 0;
    for (let i = 0; i < n; i++) {
      const dx = points[2 * i] - mx, dy = points[2 * i + 1] - my;
      sxx += (dx * dx) / n; sxy += (dx * dy) / n; syy += (dy * dy) / n;
    }
    const half = Math.sqrt(((sxx - syy) / 2) ** 2 + sxy * sxy);
    const top = (sxx + syy) / 2 + half, second = (sxx + syy) / 2 - half;
    const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
    const pca = principalComponents(points, 2, 2, 5);
    expect(pca.variances[0]).toBeCloseTo(top, 9);
    expect(pca.variances[1]).toBeCloseTo(second, 9);
    expect(Math.abs(pca.directions[0] * Math.cos(angle) + pca.directions[1] * Math.sin(angle))).toBeCloseTo(1, 9);
  });
});

describe("selectByScore", () => {
  const scores = [0.1, 0.9, 0.5, 0.7, 0.3];

  it("keeps the hardest, the easiest, or a class-balanced share, by hand", () => {
    expect(Array.from(selectByScore(scores, { fraction: 0.4, keep: "hard" }))).toEqual([1, 3]);
    expect(Array.from(selectByScore(scores, { fraction: 0.4, keep: "easy" }))).toEqual([0, 4]);
    // Class 0 has scores 0.1, 0.9, 0.5 (keeps round(1.5) = 2); class 1 has 0.7, 0.3 (keeps 1).
    expect(Array.from(selectByScore(scores, { fraction: 0.5, keep: "hard", labels: [0, 0, 0, 1, 1], classBalanced: true }))).toEqual([1, 2, 3]);
    expect(Array.from(selectByScore(scores, { fraction: 0.5, keep: "easy", labels: [0, 0, 0, 1, 1], classBalanced: true }))).toEqual([0, 2, 4]);
    expect(Array.from(selectByScore(scores, { fraction: 1, keep: "easy" }))).toEqual([0, 1, 2, 3, 4]);
    // Infinity (never learned) is the hardest of all.
    expect(Array.from(selectByScore([2, Infinity, 5], { fraction: 0.34, keep: "hard" }))).toEqual([1]);
  });

  it("is deterministic under a seed, and breaks ties and random draws by it", () => {
    const flat = new Array(1000).fill(1);
    const a = selectByScore(flat, { fraction: 0.3, keep: "hard", seed: 4 });
    expect(Array.from(selectByScore(flat, { fraction: 0.3, keep: "hard", seed: 4 }))).toEqual(Array.from(a));
    expect(Array.from(selectByScore(flat, { fraction: 0.3, keep: "hard", seed: 5 }))).not.toEqual(Array.from(a));
    const random = selectByScore(randomScores(1000, 1), { fraction: 0.5, keep: "random", seed: 2 });
    expect(random.length).toBe(500);
    expect(new Set(random).size).toBe(500);
    expect(Array.from(selectByScore(randomScores(1000, 1), { fraction: 0.5, keep: "random", seed: 2 }))).toEqual(Array.from(random));
  });

  it("names a bad fraction, an empty set, mismatched labels and NaN scores", () => {
    for (const fraction of [0, -0.1, 1.5, Number.NaN]) {
      expect(() => selectByScore(scores, { fraction, keep: "hard" })).toThrow(`selectByScore: fraction must be in (0, 1]; got ${fraction}`);
    }
    expect(() => selectByScore([], { fraction: 0.5, keep: "hard" })).toThrow("selectByScore: scores must be one score per example; got []");
    expect(() => selectByScore(scores, { fraction: 0.5, keep: "hard", labels: [0, 1, 0, 1] })).toThrow("selectByScore: labels must be 5 values long, one per value of scores; got 4");
    expect(() => selectByScore(scores, { fraction: 0.5, keep: "hard", classBalanced: true })).toThrow("selectByScore: labels must be given when classBalanced is set; got undefined");
    expect(() => selectByScore([1, Number.NaN], { fraction: 0.5, keep: "hard" })).toThrow("selectByScore: scores[1] must be a number (every example needs a score); got NaN");
    expect(() => selectByScore(scores, { fraction: 0.5, keep: "middle" as "hard" })).toThrow('keep must be one of hard, easy, random; got "middle"');
  });
});

describe("scores on a pool", () => {
  const teacher = makeTeacher(8, 1);
  const pool = teacherStudentData(teacher, { n: 200, clusterSeparation: 1, seed: 3 });
  const probe: ProbeOptions = { hidden: 4, epochs: 2, batchSize: 10, learningRate: 0.3, runs: 2, seed: 1 };

  it("EL2N, GraNd, forgetting and random are deterministic under a seed and change with it", () => {
    for (const score of [el2nScores, grandScores, (d: Examples, o: ProbeOptions) => forgettingScores(d, { ...o, epochs: 4 })]) {
      const a = score(pool, probe);
      expect(Array.from(score(pool, probe))).toEqual(Array.from(a));
      expect(Array.from(score(pool, { ...probe, seed: 2 }))).not.toEqual(Array.from(a));
    }
    expect(Array.from(randomScores(50, 1))).toEqual(Array.from(randomScores(50, 1)));
    expect(Array.from(randomScores(50, 1))).not.toEqual(Array.from(randomScores(50, 2)));
  });

  it("EL2N and GraNd are the mean over runs of independently trained probes' values", () => {
    const sum = { el2n: new Float64Array(200), grand: new Float64Array(200) };
    for (const s of probeSeeds(probe.seed, probe.runs)) {
      const model = SoftmaxClassifier.init({ inputDim: 8, classes: 2, hidden: probe.hidden }, s.init);
      trainClassifier(model, pool, { epochs: probe.epochs, batchSize: probe.batchSize, learningRate: probe.learningRate, seed: s.order });
      exampleEl2n(model, pool).forEach((v, i) => { sum.el2n[i] += v / probe.runs; });
      exampleGradNorms(model, pool).forEach((v, i) => { sum.grand[i] += v / probe.runs; });
    }
    el2nScores(pool, probe).forEach((v, i) => expect(v).toBeCloseTo(sum.el2n[i], 12));
    grandScores(pool, probe).forEach((v, i) => expect(v).toBeCloseTo(sum.grand[i], 12));
    // The two runs really differ, so this is an average of distinct values.
    const [a, b] = probeSeeds(probe.seed, 2);
    expect(a.init).not.toBe(b.init);
  });

  it("a trained probe's EL2N ranks examples near the teacher's boundary as hard", () => {
    const el2n = el2nScores(pool, { ...probe, epochs: 10 });
    const hardness = pool.teacherMargin.map((t) => -Math.abs(t));
    expect(rankCorrelation(el2n, hardness)).toBeGreaterThan(0.5);
    expect(Math.abs(rankCorrelation(randomScores(200, 4), hardness))).toBeLessThan(0.2);
  });

  it("names mismatched label counts, an empty set and the wrong input size", () => {
    const bad = { ...pool, labels: pool.labels.subarray(0, 199) };
    expect(() => el2nScores(bad, probe)).toThrow("el2nScores: x must be 1592 values (199 labels, rows of dim 8); got 1600 values, 200 rows");
    const empty: Examples = { x: new Float64Array(0), labels: new Int32Array(0), dim: 8, classes: 2 };
    expect(() => grandScores(empty, probe)).toThrow("grandScores: labels must be at least one example; got an empty Int32Array");
    expect(() => forgettingScores(empty, probe)).toThrow("forgettingScores: labels must be at least one example; got an empty Int32Array");
    expect(() => exampleEl2n(new SoftmaxClassifier({ inputDim: 3, classes: 2, hidden: 0 }), pool)).toThrow("examples have dim 8 and 2 classes but the classifier expects inputDim 3");
    expect(() => el2nScores(pool, { ...probe, runs: 0 })).toThrow("el2nScores: runs must be a positive integer; got 0");
    expect(() => randomScores(0, 1)).toThrow("randomScores: n must be a positive integer; got 0");
  });
});

describe("teacher–student test error", () => {
  it("Φ matches reference values", () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7); // erfcc is good to ~1e-7, far below any error the lesson reads
    expect(normalCdf(1)).toBeCloseTo(0.8413447460685429, 7);
    expect(normalCdf(-2)).toBeCloseTo(0.022750131948179195, 8);
    expect(normalCdf(-5) / 2.866515718791939e-7).toBeCloseTo(1, 5); // relative accuracy in the far tail
  });

  it("is arccos(R)/π for isotropic inputs and no bias (Sorscher et al.), 0 for the teacher itself", () => {
    const teacher = makeTeacher(6, 2);
    const r = new Random(8);
    const w = Float64Array.from(teacher, (u) => u + 0.4 * r.normal());
    let dot = 0, norm = 0;
    for (let i = 0; i < 6; i++) { dot += w[i] * teacher[i]; norm += w[i] * w[i]; }
    expect(linearStudentError(w, 0, teacher, 0)).toBeCloseTo(Math.acos(dot / Math.sqrt(norm)) / Math.PI, 6);
    expect(linearStudentError(Float64Array.from(teacher, (u) => 3 * u), 0, teacher, 1.5)).toBeCloseTo(0, 9);
    expect(linearStudentError(Float64Array.from(teacher, (u) => -u), 0, teacher, 1.5)).toBeCloseTo(1, 6);
  });

  it("agrees with a Monte Carlo estimate for clustered inputs and a biased student", () => {
    const teacher = makeTeacher(4, 3);
    const w = Float64Array.from([0.9, -0.3, 0.5, 0.2]);
    const bias = 0.3, m = 1.5;
    const exact = linearStudentError(w, bias, teacher, m);
    const sample = teacherStudentData(teacher, { n: 200_000, clusterSeparation: m, seed: 4 });
    let wrong = 0;
    for (let i = 0; i < 200_000; i++) {
      let s = bias;
      for (let j = 0; j < 4; j++) s += w[j] * sample.x[i * 4 + j];
      if ((s > 0 ? 1 : 0) !== sample.cleanLabels[i]) wrong++;
    }
    const estimate = wrong / 200_000;
    const se = Math.sqrt((exact * (1 - exact)) / 200_000);
    expect(Math.abs(estimate - exact)).toBeLessThan(4 * se);
    expect(exact).toBeGreaterThan(0.05);
  });

  it("draws reproducible data whose labels are the teacher's, flipped at the requested rate", () => {
    const teacher = makeTeacher(10, 1);
    const a = teacherStudentData(teacher, { n: 5000, clusterSeparation: 1, labelNoise: 0.2, seed: 6 });
    const b = teacherStudentData(teacher, { n: 5000, clusterSeparation: 1, labelNoise: 0.2, seed: 6 });
    expect(Array.from(a.x.subarray(0, 20))).toEqual(Array.from(b.x.subarray(0, 20)));
    let flips = 0;
    for (let i = 0; i < 5000; i++) {
      expect(a.cleanLabels[i]).toBe(a.teacherMargin[i] > 0 ? 1 : 0);
      expect(a.labels[i]).toBe(a.flipped[i] ? 1 - a.cleanLabels[i] : a.cleanLabels[i]);
      flips += a.flipped[i];
    }
    expect(Math.abs(flips / 5000 - 0.2)).toBeLessThan(0.02);
    // A larger draw with the same seed starts with the smaller one: nested pools.
    const bigger = teacherStudentData(teacher, { n: 6000, clusterSeparation: 1, labelNoise: 0.2, seed: 6 });
    expect(Array.from(bigger.x.subarray(0, 5000 * 10))).toEqual(Array.from(a.x));
    expect(() => teacherStudentData(teacher, { n: 10, labelNoise: 0.7, seed: 1 })).toThrow("labelNoise must be in [0, 0.5]; got 0.7");
  });

  it("a student trained on more data is closer to the teacher", () => {
    const teacher = makeTeacher(20, 4);
    const student = { epochs: 20, batchSize: 16, learningRate: 0.1 };
    const error = (n: number) => teacherStudentError(trainStudent(teacherStudentData(teacher, { n, seed: 1 }), student, 1), teacher);
    expect(error(800)).toBeLessThan(error(50));
  });
});

describe("experiment helpers", () => {
  it("the Pareto frontier keeps only points that no cheaper point beats", () => {
    const points = [{ compute: 4, error: 0.3 }, { compute: 1, error: 0.5 }, { compute: 2, error: 0.6 }, { compute: 3, error: 0.2 }, { compute: 5, error: 0.25 }];
    expect(paretoFrontier(points)).toEqual([{ compute: 1, error: 0.5 }, { compute: 3, error: 0.2 }]);
    expect(() => paretoFrontier([])).toThrow("paretoFrontier: no points given");
  });

  it("rank correlation is Spearman's ρ, with mean ranks for ties", () => {
    expect(rankCorrelation([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 12); // 1 − 6·Σd²/(n(n²−1)) = 1 − 12/60
    expect(rankCorrelation([1, 2, 3], [30, 20, 10])).toBeCloseTo(-1, 12);
    // Ranks (1.5, 1.5, 3) and (1, 2, 3): Pearson of the ranks is √3/2.
    expect(rankCorrelation([5, 5, 9], [1, 2, 3])).toBeCloseTo(Math.sqrt(3) / 2, 12);
    expect(() => rankCorrelation([1, 2], [1])).toThrow("rankCorrelation: b must be 2 values long, one per value of a; got 1");
  });

  it("local exponents are constant on a power law", () => {
    const x = [1, 2, 4, 8], y = x.map((v) => 3 * v ** -0.7);
    for (const p of localExponents(x, y)) expect(p.exponent).toBeCloseTo(0.7, 12);
    expect(localExponents([1, 4], [1, 0.5])[0].x).toBe(2);
    expect(() => localExponents([1, 1], [1, 2])).toThrow("localExponents: x must increase");
  });

  it("pruningExperiment is deterministic, keeps what it says, and shares the unpruned student across rules", () => {
    const teacher = makeTeacher(6, 1);
    const options = {
      teacher, clusterSeparation: 1, labelNoise: 0.3, poolSizes: [40, 80], fractions: [0.25, 1], keeps: ["hard", "easy"] as ("hard" | "easy")[],
      scores: ["EL2N", "random"] as ("EL2N" | "random")[], classBalanced: false, seeds: [1, 2],
      scoring: { probe: { hidden: 0, epochs: 3, batchSize: 8, learningRate: 0.5, runs: 2, seed: 1 }, forgettingEpochs: 4, prototypeComponents: 1, prototypeClusters: 2 },
      student: { epochs: 5, batchSize: 8, learningRate: 0.1 },
    };
    const rows = pruningExperiment(options);
    expect(JSON.stringify(pruningExperiment(options))).toBe(JSON.stringify(rows));
    expect(rows.length).toBe(2 * 2 * 2 * 2);
    const at = (score: string, keep: string, fraction: number, poolSize: number) => rows.find((r) => r.score === score && r.keep === keep && r.fraction === fraction && r.poolSize === poolSize)!;
    expect(at("EL2N", "hard", 0.25, 80).kept).toBe(20);
    // A linear model in d = 6 with 2 classes has 14 parameters: 84 FLOPs per example forward and backward, 28 forward.
    expect(at("EL2N", "hard", 0.25, 80).trainingFlops).toBe(5 * 20 * 84); // 5 epochs on 20 kept
    expect(at("EL2N", "hard", 0.25, 80).scoringFlops).toBe(2 * (3 * 80 * 84 + 80 * 28)); // 2 probes: 3 epochs, then a forward pass
    expect(at("EL2N", "hard", 1, 80).scoringFlops).toBe(0);
    expect(at("EL2N", "hard", 1, 40).testError).toBe(at("random", "easy", 1, 40).testError);
    // With 30% of labels flipped, EL2N's hardest examples are mostly the flipped ones and its easiest almost none.
    expect(at("EL2N", "hard", 0.25, 80).mislabeled).toBeGreaterThan(0.5);
    expect(at("EL2N", "easy", 0.25, 80).mislabeled).toBeLessThan(0.15);
    expect(() => pruningExperiment({ ...options, fractions: [0] })).toThrow("pruningExperiment: fractions must be in (0, 1]; got 0");
    expect(() => pruningExperiment({ ...options, seeds: [] })).toThrow("pruningExperiment: seeds is empty");
  });
  it("pruningExperiment with a converged student counts its Newton work, and validation sets estimate the test error", () => {
    const teacher = makeTeacher(5, 3);
    const options = {
      teacher, clusterSeparation: 1, poolSizes: [60], fractions: [0.5, 1], keeps: ["hard"] as "hard"[], scores: ["random"] as "random"[],
      seeds: [1, 2], validationSize: 20_000, student: { converged: { l2: 1e-3 } },
      scoring: { probe: { hidden: 0, epochs: 1, batchSize: 8, learningRate: 0.5, runs: 1, seed: 1 }, forgettingEpochs: 1, prototypeComponents: 1, prototypeClusters: 2 },
    };
    const rows = pruningExperiment(options);
    const full = rows.find((r) => r.fraction === 1)!;
    // The same fit by hand: the first 60 examples of each seed's stream, to convergence.
    const byHand = [1, 2].map((seed) => convergedStudent(teacherStudentData(teacher, { n: 60, clusterSeparation: 1, seed }), { l2: 1e-3 }));
    expect(full.testErrors).toEqual(byHand.map((f) => linearStudentError(f.weights, f.bias, teacher, 1)));
    expect(full.trainingFlops).toBeCloseTo((byHand[0].flops + byHand[1].flops) / 2, 6);
    // Clean labels and 20,000 validation examples: the validation error is the exact test error within sampling noise (SE ≈ 0.002).
    expect(Math.abs(full.validationError - full.testError)).toBeLessThan(0.01);
    expect(rows.find((r) => r.fraction === 0.5)!.validationError).toBeGreaterThan(0);
    expect(() => pruningExperiment({ ...options, validationSize: -1 })).toThrow("pruningExperiment: validationSize must be an integer ≥ 0; got -1");
    expect(() => pruningExperiment({ ...options, student: { converged: { l2: 0 } } })).toThrow("pruningExperiment: student.converged.l2 must be");
  });

  it("Newton's FLOPs: gradients and Hessians per example, Cholesky per solve, a pass per objective evaluation", () => {
    // d = 2, p = 3: per example 2·3 + 3·4 + 2·3 = 24 for gradient, Hessian and scores; a solve 2·27/3 + 4·9 = 54; an evaluation 2·3 + 1 = 7.
    expect(newtonFlops(10, 2, 1, 0, 0)).toBe(240);
    expect(newtonFlops(10, 2, 0, 1, 0)).toBe(54);
    expect(newtonFlops(10, 2, 0, 0, 1)).toBe(70);
    const data = teacherStudentData(makeTeacher(4, 1), { n: 50, clusterSeparation: 1, seed: 2 });
    const fit = convergedStudent(data, { l2: 0.01 });
    expect(fit.flops).toBeGreaterThanOrEqual(newtonFlops(50, 4, fit.steps + 1, fit.steps, fit.steps)); // at least one evaluation per line search
    const sgd = fitStudent(data, { epochs: 3, batchSize: 5, learningRate: 0.1 }, 1);
    expect(sgd.flops).toBe(studentFlops(50, { inputDim: 4, classes: 2 }, 3));
  });
});

describe("reading a pruning experiment", () => {
  // A hand-made grid: pools 100…800, fractions 1 and 1/4, keep hard and easy. Errors fall as 1/n
  // without pruning; keep-hard loses on small pools and wins from 400 on, keep-easy the reverse.
  const row = (keep: "hard" | "easy", fraction: number, poolSize: number, testError: number, scoringFlops = 0) => ({
    score: "EL2N" as const, keep, fraction, poolSize, kept: poolSize * fraction, testError, testErrorSe: 0, mislabeled: 0,
    testErrors: [testError], validationError: testError, trainingFlops: 10 * poolSize * fraction, scoringFlops,
  });
  const pools = [100, 200, 400, 800];
  const rows = [
    ...pools.flatMap((p) => [row("hard", 1, p, 10 / p), row("easy", 1, p, 10 / p)]),
    row("hard", 0.25, 100, 0.5, 500), row("easy", 0.25, 100, 0.3, 500),
    row("hard", 0.25, 200, 0.25, 1000), row("easy", 0.25, 200, 0.3, 1000),
    row("hard", 0.25, 400, 0.06, 0), row("easy", 0.25, 400, 0.2, 2000), // a score that costs nothing, for the budget test
    row("hard", 0.25, 800, 0.02, 4000), row("easy", 0.25, 800, 0.15, 4000),
  ];

  it("finds where keeping the hardest starts to win for good", () => {
    expect(crossover(rows, 0.25, pools)).toEqual({ poolSize: 200, easyWinsBelow: true });
    const neverSettles = rows.map((r) => (r.keep === "hard" && r.fraction === 0.25 && r.poolSize === 800 ? { ...r, testError: 1 } : r));
    expect(crossover(neverSettles, 0.25, pools)).toBeNull();
    expect(() => pruningRow(rows, "hard", 0.5, 100)).toThrow("pruningRow: no row keeps hard 0.5 of a pool of 100");
  });

  it("fits each fraction's curve on a common range and finds where a pruned curve falls faster", () => {
    const [full, pruned] = powerLawsByFraction(rows, [1, 0.25], { lo: 100, hi: 800 });
    expect(full.fit!.alpha).toBeCloseTo(1, 10);
    expect(pruned.fit!.alpha).toBeCloseTo(Math.log2(3), 10); // kept 100 and 200 lie in the range
    expect(powerLawsByFraction(rows, [0.25], { lo: 1000, hi: 2000 })[0].fit).toBeNull();
    const faster = fasterThan(rows, 0.25, 1.2)!;
    // Local exponents between kept sizes 50→100 and 100→200: log(0.25/0.06)/log 2 ≈ 2.06 and log 3 / log 2 ≈ 1.58.
    expect(faster.range).toEqual({ from: Math.sqrt(50 * 100), to: Math.sqrt(100 * 200) });
    expect(faster.steepest.exponent).toBeCloseTo(Math.log2(0.25 / 0.06), 10);
  });

  it("compares at equal training compute, and counts budgets won once scoring is paid for", () => {
    // Unpruned runs of 100 and 200 examples meet pruned runs of the same size (from pools 400 and 800).
    expect(equalCompute(rows).map(({ full, best }) => [full.kept, best.poolSize, best.keep])).toEqual([[100, 400, "hard"], [200, 800, "hard"]]);
    const { training, withScoring } = computeFrontiers(rows);
    expect(training.map((p) => p.compute)).toEqual([250, 500, 1000, 2000, 8000]);
    expect(withScoring.every((p, i) => i === 0 || p.error < withScoring[i - 1].error)).toBe(true);
    // Scoring counted, only the free score's run (100 examples from pool 400, error 0.06) beats an unpruned run within its
    // budget (1000, error 0.1); the other pruned runs cost more than the unpruned runs they would beat.
    expect(withScoring.find((p) => p.fraction < 1 && p.poolSize === 400)?.compute).toBe(1000);
    expect(budgetsWonWithScoring(rows)).toEqual({ won: 1, wonBeyondNoise: 0, budgets: 4 }); // one seed: no interval
    expect(equalComputeWithScoring(rows).map(({ full, best }) => [full.trainingFlops, best?.poolSize, best?.testError]))
      .toEqual([[1000, 400, 0.06], [2000, 400, 0.06], [4000, 400, 0.06], [8000, 800, 0.02]]);
    // Shared by two students, the pool of 800's scores cost each 2000: its run (error 0.02) now fits the budget of 4000 (0.025).
    expect(equalComputeWithScoring(rows, 2)[2].best?.poolSize).toBe(800);
    expect(budgetsWonWithScoring(rows, 2)).toEqual({ won: 2, wonBeyondNoise: 0, budgets: 4 });
    expect(() => budgetsWonWithScoring(rows, 0.5)).toThrow("reuses (students sharing one scoring) must be a finite number ≥ 1; got 0.5");
  });
  it("chooses among pruned runs on validation error, never test error, and refuses runs without it", () => {
    // Validation prefers the easy run of pool 400 (a worse test error): the choice follows validation.
    const misled = rows.map((r) => (r.poolSize === 400 && r.fraction < 1 ? { ...r, validationError: r.keep === "easy" ? 0.01 : 0.5 } : r));
    expect(equalCompute(misled)[0].best).toMatchObject({ poolSize: 400, keep: "easy", testError: 0.2 });
    // Budget 1000: the runs that fit are both rules' from pool 100 (validation 0.5 and 0.3) and keep-hard from pool 400 (now 0.5).
    expect(equalComputeWithScoring(misled)[0].best).toMatchObject({ poolSize: 100, keep: "easy" });
    const unvalidated = rows.map((r) => ({ ...r, validationError: NaN }));
    expect(() => equalCompute(unvalidated)).toThrow("equalCompute: the runs carry no validation error; run pruningExperiment with validationSize > 0");
    expect(() => budgetsWonWithScoring(unvalidated)).toThrow("equalComputeWithScoring: the runs carry no validation error");
  });

  it("a difference between two runs is paired by seed, with a t-interval over the seeds", () => {
    const a = { ...rows[0], testErrors: [0.10, 0.12, 0.11, 0.13] }, b = { ...rows[1], testErrors: [0.12, 0.15, 0.12, 0.16] };
    const d = seedDifference(a, b);
    const diffs = [-0.02, -0.03, -0.01, -0.03], mean = -0.0225;
    const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - mean) ** 2, 0) / 3);
    expect(d.mean).toBeCloseTo(mean, 12);
    expect(d.high).toBeCloseTo(mean + 3.182 * sd / 2, 12); // t(3) = 3.182
    expect(d.high).toBeLessThan(0);
    expect(() => seedDifference(a, { ...b, testErrors: [0.1] })).toThrow("seedDifference: b.testErrors must be 4 values long");
    expect(differenceVerdict(d)).toBe("lower");
    expect(differenceVerdict(seedDifference(b, a))).toBe("higher");
    expect(differenceVerdict(seedDifference(a, { ...b, testErrors: [0.09, 0.13, 0.10, 0.14] }))).toBe("indistinguishable");
    expect(differenceVerdict(seedDifference({ ...a, testErrors: [0.1] }, { ...b, testErrors: [0.2] }))).toBe("indistinguishable"); // one seed: no interval
  });

  it("fits power laws in compute over the budgets the unpruned runs span on the kept range", () => {
    // Unpruned runs of 100…800 examples cost 1000…8000 and fall as 1/n, so as C^−1.
    const fits = powerLawsInCompute(rows, { lo: 100, hi: 800 });
    expect(fits.unpruned!.alpha).toBeCloseTo(1, 12);
    const frontier = computeFrontiers(rows).training.filter((p) => p.compute >= 950 && p.compute <= 8400);
    expect(fits.frontier!.alpha).toBeCloseTo(fitPowerLaw(frontier.map((p) => p.compute), frontier.map((p) => p.error)).alpha, 12);
    expect(powerLawsInCompute(rows, { lo: 5000, hi: 9000 })).toEqual({ unpruned: null, frontier: null });
  });

  it("sets the pruned run validation prefers against its whole pool, paired by seed", () => {
    const seeded = rows.map((r) => ({ ...r, testErrors: [r.testError, r.testError + 0.01, r.testError - 0.01] }));
    const { whole, chosen, difference } = prunedAgainstWhole(seeded, 400);
    expect([whole.fraction, chosen.keep, chosen.poolSize]).toEqual([1, "hard", 400]); // validation 0.06 against easy's 0.2
    expect(difference.mean).toBeCloseTo(0.06 - 10 / 400, 12);
    expect(differenceVerdict(difference)).toBe("higher");
    expect(() => prunedAgainstWhole(seeded, 300)).toThrow("pruningRow: no row keeps hard 1 of a pool of 300");
  });
});

describe("counting compute in FLOPs", () => {
  it("charges 6 per parameter forward and backward, 2 forward, so a 16-unit probe costs 850/102 of the linear student in d = 50", () => {
    const probe = { inputDim: 50, classes: 2, hidden: 16 };
    expect(exampleFlops(probe, "forward and backward")).toBe(6 * (50 * 16 + 16 + 16 * 2 + 2));
    expect(exampleFlops({ ...probe, hidden: 0 }, "forward")).toBe(2 * 102);
    const scoring = {
      probe: { hidden: 16, epochs: 2, batchSize: 16, learningRate: 0.5, runs: 4, seed: 1 },
      forgettingEpochs: 20, prototypeComponents: 1, prototypeClusters: 2,
    };
    const pool = { poolSize: 1000, inputDim: 50, classes: 2 };
    expect(scoringFlops("EL2N", pool, scoring)).toBe(4 * 1000 * (2 * 6 * 850 + 2 * 850));
    expect(scoringFlops("GraNd", pool, scoring)).toBe(4 * 1000 * 3 * 6 * 850);
    expect(scoringFlops("forgetting", pool, scoring)).toBe(4 * 20 * 1000 * 6 * 850);
    expect(scoringFlops("random", pool, scoring)).toBe(0);
    // No gradients: the covariance's n·d(d+1) FLOPs and more, but less than one EL2N probe.
    expect(scoringFlops("prototype", pool, scoring)).toBeGreaterThan(1000 * 50 * 51);
    expect(scoringFlops("prototype", pool, scoring)).toBeLessThan(scoringFlops("EL2N", pool, scoring) / 4);
    expect(studentFlops(100, pool, 50)).toBe(50 * 100 * 6 * 102);
  });
});

describe("how well a score finds the hard examples", () => {
  const margins = Float64Array.from({ length: 200 }, (_, i) => (i % 2 ? 1 : -1) * (i + 1));
  it("a score that is the true difficulty agrees perfectly, its reverse not at all", () => {
    expect(scoreAgreement(margins.map((t) => -Math.abs(t)), margins)).toEqual({ rankCorrelation: 1, hardestOverlap: 1 });
    const reversed = scoreAgreement(margins.map((t) => Math.abs(t)), margins);
    expect(reversed.rankCorrelation).toBeCloseTo(-1, 12);
    expect(reversed.hardestOverlap).toBe(0);
  });
  it("a random score finds about the fraction kept", () => {
    const overlaps = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => scoreAgreement(randomScores(200, seed), margins, 0.25).hardestOverlap);
    expect(overlaps.reduce((a, b) => a + b) / overlaps.length).toBeGreaterThan(0.15);
    expect(overlaps.reduce((a, b) => a + b) / overlaps.length).toBeLessThan(0.35);
  });
});

describe("the unpruned student against theory", () => {
  it("the Hebbian closed form: chance at α → 0, 1/√(2πα) for large α, and what a simulated Hebbian student gets", () => {
    expect(hebbianError(1e-9)).toBeCloseTo(0.5, 4);
    expect(hebbianError(1e6) * Math.sqrt(2 * Math.PI * 1e6)).toBeCloseTo(1, 4);
    const d = 400;
    for (const alpha of [0.5, 2, 8]) {
      const teacher = makeTeacher(d, 7);
      const errors = Array.from({ length: 20 }, (_, seed) => {
        const data = teacherStudentData(teacher, { n: alpha * d, seed });
        return linearStudentError(hebbianStudent(data), 0, teacher);
      });
      expect(Math.abs(errors.reduce((a, b) => a + b) / errors.length - hebbianError(alpha))).toBeLessThan(0.01);
    }
    expect(() => hebbianError(0)).toThrow("hebbianError: alpha (examples per dimension) must be a finite number > 0; got 0");
  });

  it("the converged student: the root of the 1-D stationarity condition, and a zero gradient by finite differences", () => {
    // x = ±1 labelled by its sign: by symmetry c = 0 and w solves 2σ(−w) = l2·w, found here by bisection.
    const oneD = convergedStudent(examples([[1], [-1]], [1, 0]), { l2: 0.1 });
    let lo = 0, hi = 100;
    for (let k = 0; k < 200; k++) { const w = (lo + hi) / 2; if (2 / (1 + Math.exp(w)) > 0.1 * w) lo = w; else hi = w; }
    expect(oneD.weights[0]).toBeCloseTo(lo, 9);
    expect(oneD.bias).toBeCloseTo(0, 9);
    // Random data in 3-D with noisy labels: the objective's central differences vanish at the solution.
    const data = teacherStudentData(makeTeacher(3, 1), { n: 60, labelNoise: 0.2, clusterSeparation: 1, seed: 4 });
    const l2 = 0.01;
    const student = convergedStudent(data, { l2 });
    const objective = (t: number[]) => Array.from(data.labels).reduce((f, label, i) => {
      const z = (label === 1 ? 1 : -1) * (t[0] * data.x[3 * i] + t[1] * data.x[3 * i + 1] + t[2] * data.x[3 * i + 2] + t[3]);
      return f + Math.log(1 + Math.exp(-z));
    }, 0) + 0.5 * l2 * t.reduce((a, v) => a + v * v, 0);
    const theta = [...student.weights, student.bias];
    for (let j = 0; j < 4; j++) {
      const h = 1e-5, up = [...theta], down = [...theta];
      up[j] += h; down[j] -= h;
      expect(Math.abs((objective(up) - objective(down)) / (2 * h))).toBeLessThan(1e-6);
    }
  });

  it("the converged student's error falls about as 1/α, the Hebbian student's as 1/√α", () => {
    const d = 25, alphas = [8, 16, 32, 64];
    const teacher = makeTeacher(d, 11);
    const mean = (f: (seed: number) => number) => [1, 2, 3, 4, 5, 6].reduce((s, seed) => s + f(seed), 0) / 6;
    const errors = alphas.map((alpha) => mean((seed) => {
      const data = teacherStudentData(teacher, { n: alpha * d, seed });
      const { weights, bias } = convergedStudent(data, { l2: 1e-4 });
      return linearStudentError(weights, bias, teacher);
    }));
    const exponent = (e: number[]) => -Math.log(e[3] / e[0]) / Math.log(alphas[3] / alphas[0]);
    expect(exponent(errors)).toBeGreaterThan(0.8);
    expect(exponent(errors)).toBeLessThan(1.3);
    expect(exponent(alphas.map(hebbianError))).toBeCloseTo(0.5, 1);
    for (const [i, alpha] of alphas.entries()) expect(errors[i]).toBeLessThan(hebbianError(alpha));
  });

  it("a learning curve trains the student on the first n examples of each seed's stream", () => {
    const teacher = makeTeacher(5, 2);
    const hebbian = (data: Examples) => ({ weights: hebbianStudent(data), bias: 0 });
    const curve = learningCurve({ teacher, clusterSeparation: 1, poolSizes: [10, 40], seeds: [3, 4], student: hebbian });
    const byHand = [3, 4].map((seed) => linearStudentError(hebbianStudent(subsetExamples(
      teacherStudentData(teacher, { n: 40, clusterSeparation: 1, seed }), Int32Array.from({ length: 10 }, (_, i) => i))), 0, teacher, 1));
    expect(curve[0].poolSize).toBe(10);
    expect(curve[0].testError).toBeCloseTo((byHand[0] + byHand[1]) / 2, 12);
    expect(curve[0].testErrorSe).toBeCloseTo(Math.abs(byHand[0] - byHand[1]) / 2, 12);
    expect(() => learningCurve({ teacher, clusterSeparation: 0, poolSizes: [], seeds: [1], student: hebbian })).toThrow("learningCurve: poolSizes must be a non-empty array; got []");
  });

  it("refuses what has no minimum or is not a perceptron's problem", () => {
    expect(() => convergedStudent(examples([[1, 0], [-1, 0]], [1, 0]), { l2: 0 })).toThrow("convergedStudent: l2 must be a finite number > 0");
    expect(() => convergedStudent(examples([[1, 0]], [0], 3), { l2: 1 })).toThrow("convergedStudent: needs 2 classes");
    expect(() => convergedStudent(examples([[1, 0], [-1, 0]], [1, 0]), { l2: 1e-3, maxSteps: 1 })).toThrow("convergedStudent: not converged after 1 Newton steps");
  });
});
