// The scaling study's design (lessons 02 and 03): what a run is and what its id covers, the
// ladder of model shapes, the compute budgets, which sizes each budget trains, the learning-rate
// sweep and the IsoFLOP runs at the rates it chooses. Training the runs is lib/scaling/sweep.ts;
// reading the finished study is lib/scaling/analysis.ts.
import { checkNonEmpty, checkPositiveInteger, checkThat, shown } from "../core/checks";
import { geometricStep, sweepRates } from "../core/rateSweep";
import { fingerprint, resultId, type RunContext, type StampedResult } from "../core/results";
import { parseScale, type Scale } from "../core/scale";
import { countParameters, validateConfig, type GPTConfig } from "../gpt/model";

export interface SweepRun {
  /** A label for tables and charts, e.g. "L2 W64". */
  label: string;
  model: GPTConfig;
  /** Training tokens D (rounded up to whole steps). */
  tokens: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** The text and split trained on, e.g. "kjv.txt 90/5/5": part of the run's identity. */
  dataset: string;
}

/** A finished run; its stamp (id, format, dataHash, backend) says what it was trained on and by. */
export interface SweepResult extends StampedResult {
  label: string;
  model: GPTConfig;
  /** Non-embedding parameters (Kaplan's N). */
  params: number;
  /** Tokens trained on. */
  tokens: number;
  /** Training compute C ≈ 6·N·D. */
  flops: number;
  trainLoss: number;
  /** Validation loss estimated on `evalBatches` random batches at the end of training. */
  valLoss: number;
  /** Loss on every position of the validation part's first `evalTokens` tokens: for choosing hyper-parameters. */
  validationLoss: number;
  /** The same on the test part: for reporting. */
  testLoss: number;
  evalTokens: number;
  /** Validation loss along the way, for loss-against-compute curves. */
  curve: { tokens: number; valLoss: number }[];
  seconds: number;
  seed: number;
  batchSize: number;
  learningRate: number;
  dataset: string;
  /** The machine that trained it. */
  cpu: string;
}

/** Training text, validation text (choosing), test text (reporting). */
export type SweepData = { train: Int32Array; val: Int32Array; test: Int32Array };

/** What decides a run's result: its settings (the label only names it). */
export function runSettings(run: SweepRun) {
  const { model, tokens, batchSize, learningRate, seed, dataset } = run;
  return { model, tokens, batchSize, learningRate, seed, dataset };
}

/** The run's id on this data and backend: a rerun with the same id is skipped. */
export function runId(run: SweepRun, context: RunContext): string {
  return resultId(runSettings(run), context);
}

/** Throws unless `data` holds the train, val and test token arrays, naming it as `label` in `fn`'s error. */
export function checkSweepData(fn: string, data: SweepData, label: string): void {
  if (data == null || typeof data !== "object") throw new Error(`${fn}: ${label} must be { train, val, test } token arrays; got ${shown(data)}`);
  for (const part of ["train", "val", "test"] as const) {
    if (!(data[part] instanceof Int32Array)) throw new Error(`${fn}: ${label}.${part} must be an Int32Array of token ids; got ${shown(data[part])}`);
  }
}

/** The data and backend a sweep's runs are trained on. */
export function sweepContext(data: SweepData, backend: string): RunContext {
  checkSweepData("sweepContext", data, "data");
  return { dataHash: fingerprint(data.train, data.val, data.test), backend };
}

export type Shape = { nLayer: number; nHead: number; nEmbd: number };

/**
 * A scaling study in the manner of Hoffmann et al.'s approach 2: at each compute budget C, every
 * model size that fits is trained on D = C/(6N) tokens, each run's cosine schedule ending at its
 * own D; the learning rate is tuned per size first, on validation text.
 */
export interface ScalingDesign {
  /** Names the results file (datasets/sweeps/<name>.jsonl at full scale). */
  name: string;
  corpus: string;
  /** The text and split, recorded with every run, e.g. "kjv.txt 90/5/5". */
  dataset: string;
  base: Omit<GPTConfig, "nEmbd" | "nLayer" | "nHead" | "vocabSize">;
  batchSize: number;
  /** Model shapes, smallest first, about 2× apart in non-embedding parameters N. */
  ladder: Shape[];
  /** IsoFLOP budgets (FLOPs), ascending. */
  budgets: number[];
  /** The budgets a "start small" prediction may be fitted on; the others are held out to test it. */
  fitBudgets: number[];
  /** Learning rates tried for every size, at its tuning budget; the best on validation text is used. */
  rates: number[];
  /** Where a size's best rate is the grid's lowest or highest, the rate one grid step beyond it is tried too, up to this many steps. */
  rateSteps: number;
  /** Every size at this budget is trained with each of `seeds`: the seed-to-seed noise band. */
  seedBudget: number;
  seeds: number[];
  /** Shapes of about one size, trained at `seedBudget` with one learning rate. */
  shapes: Shape[];
  /** A run may pass over the training text at most this many times (Muennighoff et al. 2023). */
  maxEpochs: number;
  /** Runs shorter than this are left out: warm-up and decay need room. */
  minSteps: number;
  /** Each model is scored on this many validation and this many test tokens. */
  evalTokens: number;
}

/**
 * Character-level GPTs on the King James Bible (4.1M characters, 90% training, 5% validation,
 * 5% test). Full: eleven sizes from 252 to 448k non-embedding parameters, six budgets from 3e9 to
 * 1e12 FLOPs (the prediction is fitted on the first four), six learning rates per size (and up to
 * two more beyond the grid where its best rate is at an edge), three
 * seeds at 3e10, and three more shapes of ~7k parameters beside the ladder's L2 H2 W16, each with
 * its own rate grid and three seeds. Smoke:
 * four tiny sizes at three tiny budgets, one rate.
 */
export function scalingDesign(scale: Scale): ScalingDesign {
  parseScale(scale, "scalingDesign: scale");
  const common = { corpus: "kjv.txt", dataset: "kjv.txt 90/5/5", maxEpochs: 4 };
  const base = { dropout: 0, bias: true, tieWeights: true };
  if (scale === "smoke") {
    return {
      ...common, name: "kjv-smoke", base: { ...base, blockSize: 16 }, batchSize: 4,
      ladder: [4, 6, 8, 16].map((nEmbd) => ({ nLayer: 1, nHead: 2, nEmbd })),
      budgets: [1e7, 2e7, 4e7], fitBudgets: [1e7, 2e7], rates: [1e-2], rateSteps: 0, seedBudget: 2e7, seeds: [1, 2],
      shapes: [{ nLayer: 2, nHead: 2, nEmbd: 6 }], minSteps: 20, evalTokens: 2048,
    };
  }
  return {
    ...common, name: "kjv-isoflop", base: { ...base, blockSize: 64 }, batchSize: 16,
    ladder: [
      ...[4, 6, 8, 12, 16].map((nEmbd) => ({ nLayer: 1, nHead: 2, nEmbd })),
      { nLayer: 2, nHead: 2, nEmbd: 16 }, { nLayer: 2, nHead: 2, nEmbd: 24 }, { nLayer: 2, nHead: 4, nEmbd: 32 },
      { nLayer: 2, nHead: 4, nEmbd: 48 }, { nLayer: 3, nHead: 4, nEmbd: 64 }, { nLayer: 4, nHead: 4, nEmbd: 96 },
    ],
    budgets: [3e9, 1e10, 3e10, 1e11, 3e11, 1e12], fitBudgets: [3e9, 1e10, 3e10, 1e11],
    rates: [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2], rateSteps: 2, seedBudget: 3e10, seeds: [1, 2, 3],
    shapes: [{ nLayer: 1, nHead: 2, nEmbd: 24 }, { nLayer: 4, nHead: 2, nEmbd: 12 }, { nLayer: 8, nHead: 2, nEmbd: 8 }],
    minSteps: 100, evalTokens: 100_000,
  };
}

export function shapeName(s: Shape): string {
  if (s == null || typeof s !== "object") throw new Error(`shapeName: shape must be { nLayer, nHead, nEmbd }; got ${shown(s)}`);
  for (const key of ["nLayer", "nHead", "nEmbd"] as const) checkPositiveInteger("shapeName", `shape.${key}`, s[key]);
  return `L${s.nLayer} H${s.nHead} W${s.nEmbd}`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.nLayer === b.nLayer && a.nHead === b.nHead && a.nEmbd === b.nEmbd;
}

/** Whole steps that D = C/(6N) tokens make. */
function stepsAt(design: ScalingDesign, N: number, C: number): number {
  return Math.round(C / (6 * N) / (design.batchSize * design.base.blockSize));
}

/** Why a size cannot be trained at budget C (too few steps, too many epochs), or null if it can. */
function excluded(design: ScalingDesign, N: number, C: number, trainTokens: number): string | null {
  const steps = stepsAt(design, N, C);
  if (steps < design.minSteps) return `${steps} steps < ${design.minSteps}`;
  const epochs = (steps * design.batchSize * design.base.blockSize) / trainTokens;
  return epochs > design.maxEpochs ? `${epochs.toFixed(1)} epochs > ${design.maxEpochs}` : null;
}

function modelOf(design: ScalingDesign, shape: Shape, vocabSize: number): GPTConfig {
  return { ...design.base, ...shape, vocabSize };
}

/** Non-embedding parameters of a shape in this design (Kaplan's N). */
function paramsOf(design: ScalingDesign, shape: Shape, vocabSize: number): number {
  return countParameters(modelOf(design, shape, vocabSize)).nonEmbedding;
}

/** The run of `shape` at budget C (tokens rounded to whole steps) with one rate and seed. */
export function isoflopRun(design: ScalingDesign, shape: Shape, vocabSize: number, C: number, learningRate: number, seed: number): SweepRun {
  const model = modelOf(design, shape, vocabSize);
  const tokens = stepsAt(design, paramsOf(design, shape, vocabSize), C) * design.batchSize * design.base.blockSize;
  const label = `C${C.toExponential(0).replace("+", "")} ${shapeName(shape)} lr${learningRate.toExponential()} s${seed}`;
  return { label, model, tokens, batchSize: design.batchSize, learningRate, seed, dataset: design.dataset };
}

/**
 * Refuses a design whose numbers would make every later step fail under another name, or leave
 * the study silently empty. Each public function checks once at its door; the steps it takes
 * after that (the `…Of` functions below) trust the design.
 */
export function checkDesign(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number): void {
  const where = `${fn}: design ${shown(design.name)}`;
  // Without sizes, rates, budgets or seeds there would be no run to train, or none at the seed budget.
  for (const [label, values, what] of [["ladder", design.ladder, "model shapes"], ["budgets", design.budgets, "budgets"], ["rates", design.rates, "learning rates"],
    ["seeds", design.seeds, "seeds"]] as const) {
    checkNonEmpty(fn, `design.${label}`, values, `a non-empty array of ${what}`);
  }
  const positive = (label: string, values: readonly number[]) => values.forEach((v, i) => {
    checkThat(typeof v === "number" && Number.isFinite(v) && v > 0, where, `${label}[${i}]`, v, "a positive number");
  });
  positive("budgets", design.budgets);
  positive("rates", design.rates);
  positive("fitBudgets", design.fitBudgets);
  for (const [label, v] of [["batchSize", design.batchSize], ["minSteps", design.minSteps], ["evalTokens", design.evalTokens], ["vocabSize", vocabSize],
    ["trainTokens", trainTokens]] as const) {
    checkPositiveInteger(where, label, v);
  }
  checkThat(design.maxEpochs > 0, where, "maxEpochs", design.maxEpochs, "a positive number");
  checkThat(Number.isInteger(design.rateSteps) && design.rateSteps >= 0, where, "rateSteps", design.rateSteps, "a whole number ≥ 0");
  if (design.rateSteps > 0 && design.rates.length < 2) throw new Error(`${where}: rateSteps ${design.rateSteps} needs at least two rates to step by their ratio; got rates ${shown(design.rates)}`);
  const missing = design.fitBudgets.find((C) => !design.budgets.includes(C));
  if (missing !== undefined) throw new Error(`${where}: fitBudgets holds ${missing}, which is not one of the budgets`);
  if (!design.budgets.includes(design.seedBudget)) throw new Error(`${where}: seedBudget ${shown(design.seedBudget)} is not one of the budgets`);
  for (const shape of [...design.ladder, ...design.shapes]) validateConfig(modelOf(design, shape, vocabSize));
}

/** The ladder sizes trainable at each budget, and those left out with the reason. */
export function budgetSizes(design: ScalingDesign, vocabSize: number, trainTokens: number) {
  checkDesign("budgetSizes", design, vocabSize, trainTokens);
  return sizesAtBudgets(design, vocabSize, trainTokens);
}

/** budgetSizes on a design already checked. */
function sizesAtBudgets(design: ScalingDesign, vocabSize: number, trainTokens: number) {
  return design.budgets.map((C) => {
    const sizes: Shape[] = [];
    const skipped: { shape: Shape; why: string }[] = [];
    for (const shape of design.ladder) {
      const why = excluded(design, paramsOf(design, shape, vocabSize), C, trainTokens);
      if (why) skipped.push({ shape, why });
      else sizes.push(shape);
    }
    return { C, sizes, skipped };
  });
}

/** Each size's tuning budget: of the budgets it is trained at, the one nearest their middle (in log C), the cheaper on a tie. */
function tuningBudgets(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number): { shape: Shape; C: number }[] {
  const table = sizesAtBudgets(design, vocabSize, trainTokens);
  return design.ladder.map((shape) => {
    const at = table.filter((b) => b.sizes.some((s) => sameShape(s, shape))).map((b) => b.C);
    if (at.length === 0) {
      const why = table.map((b) => `C ${b.C.toExponential(0)}: ${b.skipped.find((k) => sameShape(k.shape, shape))?.why}`).join("; ");
      throw new Error(`${fn}: scaling design ${design.name}: ${shapeName(shape)} fits no budget (${why}) with ${trainTokens} training tokens; remove it from the ladder`);
    }
    const middle = (Math.log(at[0]) + Math.log(at.at(-1)!)) / 2;
    const C = at.reduce((best, c) => (Math.abs(Math.log(c) - middle) < Math.abs(Math.log(best) - middle) - 1e-9 ? c : best));
    return { shape, C };
  });
}

/** The learning-rate sweep: every size at its tuning budget with every rate of the grid, the costliest budgets first. */
export function learningRateRuns(design: ScalingDesign, vocabSize: number, trainTokens: number): SweepRun[] {
  checkDesign("learningRateRuns", design, vocabSize, trainTokens);
  return learningRateRunsOf("learningRateRuns", design, vocabSize, trainTokens);
}

/** learningRateRuns on a design already checked by `fn`. */
export function learningRateRunsOf(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number): SweepRun[] {
  return tuningBudgets(fn, design, vocabSize, trainTokens).sort((a, b) => b.C - a.C)
    .flatMap(({ shape, C }) => design.rates.map((rate) => isoflopRun(design, shape, vocabSize, C, rate, 1)));
}

export interface TunedRate {
  shape: Shape;
  /** Non-embedding parameters. */
  N: number;
  /** The budget it was tuned at. */
  C: number;
  /** The rate with the lowest validation loss. */
  rate: number;
  /** Every rate tried, lowest first: the grid's, and those beyond its edges. */
  losses: { rate: number; validationLoss: number }[];
  /** The best rate is still the lowest or highest tried after design.rateSteps steps beyond the grid: a better one may lie further out. */
  atEdge: boolean;
}

/** Picks each size's learning rate from the tuning runs (trained in `context`), by validation loss (never test loss). */
export function tuneLearningRates(design: ScalingDesign, vocabSize: number, trainTokens: number, results: SweepResult[], context: RunContext): TunedRate[] {
  const fn = "tuneLearningRates";
  checkTuningResults(fn, results, context);
  checkDesign(fn, design, vocabSize, trainTokens);
  return tuneLearningRatesOf(fn, design, vocabSize, trainTokens, results, context);
}

/**
 * The tuning runs the sweep needs next: for each size whose best rate so far is the lowest or
 * highest tried, the run one grid step beyond it (none once design.rateSteps steps are taken).
 */
export function learningRateStepRuns(design: ScalingDesign, vocabSize: number, trainTokens: number, results: SweepResult[], context: RunContext): SweepRun[] {
  const fn = "learningRateStepRuns";
  checkTuningResults(fn, results, context);
  checkDesign(fn, design, vocabSize, trainTokens);
  return learningRateStepRunsOf(fn, design, vocabSize, trainTokens, results, context);
}

function checkTuningResults(fn: string, results: SweepResult[], context: RunContext): void {
  if (!Array.isArray(results)) throw new Error(`${fn}: results must be an array of sweep results; got ${shown(results)}`);
  if (context == null || typeof context.dataHash !== "string" || typeof context.backend !== "string") {
    throw new Error(`${fn}: context must be the { dataHash, backend } the tuning runs were trained in (sweepContext(data, backend)); got ${shown(context)}`);
  }
}

/** One rate sweep: a shape, the budget it is tuned at, and the grid it starts from. */
interface RateCell {
  shape: Shape;
  C: number;
  grid: number[];
}

/** Each cell's rate sweep as far as `results` go: its chosen rate, or the run beyond an edge to train next. */
function sweepCells(fn: string, design: ScalingDesign, vocabSize: number, cells: RateCell[], results: SweepResult[], context: RunContext) {
  const byId = new Map(results.map((r) => [r.id, r]));
  return cells.map(({ shape, C, grid }) => {
    const runAt = (rate: number) => isoflopRun(design, shape, vocabSize, C, rate, 1);
    const sweep = sweepRates({
      grid, steps: design.rateSteps, beyond: (rate, direction) => geometricStep(grid, rate, direction),
      summary: (rate, required) => {
        const result = byId.get(runId(runAt(rate), context));
        if (!result && required) throw new Error(`${fn}: no result for the tuning run ${runAt(rate).label}; run the learning-rate sweep first`);
        return result && { rate, validationLoss: result.validationLoss };
      },
      best: (tried) => tried.reduce((a, b) => (b.validationLoss < a.validationLoss ? b : a)),
    });
    if ("next" in sweep) return { next: runAt(sweep.next) };
    const tuned: TunedRate = { shape, N: paramsOf(design, shape, vocabSize), C, rate: sweep.best.rate, losses: sweep.tried, atEdge: sweep.atEdge };
    return tuned;
  });
}

/** The runs one step beyond an edge that the cells' sweeps need next. */
const stepRuns = (swept: ReturnType<typeof sweepCells>) => swept.flatMap((s) => ("next" in s ? [s.next] : []));

/** The cells' chosen rates; an error if a sweep still needs a run beyond an edge. */
function chosenRates(fn: string, swept: ReturnType<typeof sweepCells>): TunedRate[] {
  return swept.map((s) => {
    if ("next" in s) throw new Error(`${fn}: no result for the tuning run ${s.next.label}, one step beyond the edge of the grid where the best rate so far lies; run the learning-rate sweep first`);
    return s;
  });
}

/** The ladder's cells: each size at its tuning budget with the design's grid. */
const ladderCells = (fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number): RateCell[] =>
  tuningBudgets(fn, design, vocabSize, trainTokens).map(({ shape, C }) => ({ shape, C, grid: design.rates }));

/** learningRateStepRuns on a design already checked by `fn`, with results and context that are. */
export function learningRateStepRunsOf(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number, results: SweepResult[], context: RunContext): SweepRun[] {
  return stepRuns(sweepCells(fn, design, vocabSize, ladderCells(fn, design, vocabSize, trainTokens), results, context));
}

/** tuneLearningRates on a design already checked by `fn`, with results and context that are. */
export function tuneLearningRatesOf(fn: string, design: ScalingDesign, vocabSize: number, trainTokens: number, results: SweepResult[], context: RunContext): TunedRate[] {
  return chosenRates(fn, sweepCells(fn, design, vocabSize, ladderCells(fn, design, vocabSize, trainTokens), results, context));
}

/**
 * The shapes' cells: each shape at the seed budget with a grid of its own, half, once and twice
 * the rate tuned for the ladder size nearest it in N (a rate tuned for one depth need not suit another).
 */
function shapeCells(design: ScalingDesign, vocabSize: number, tuned: TunedRate[]): RateCell[] {
  return design.shapes.map((shape) => {
    const N = paramsOf(design, shape, vocabSize);
    const nearest = tuned.reduce((a, b) => (Math.abs(Math.log(b.N / N)) < Math.abs(Math.log(a.N / N)) ? b : a));
    return { shape, C: design.seedBudget, grid: [0.5, 1, 2].map((f) => Number((f * nearest.rate).toPrecision(12))) };
  });
}

/** The shapes' rate grids (seed 1, at the seed budget); their steps beyond an edge come from shapeStepRunsOf. */
export function shapeTuningRunsOf(design: ScalingDesign, vocabSize: number, tuned: TunedRate[]): SweepRun[] {
  return shapeCells(design, vocabSize, tuned).flatMap(({ shape, C, grid }) => grid.map((rate) => isoflopRun(design, shape, vocabSize, C, rate, 1)));
}

export function shapeStepRunsOf(fn: string, design: ScalingDesign, vocabSize: number, tuned: TunedRate[], results: SweepResult[], context: RunContext): SweepRun[] {
  return stepRuns(sweepCells(fn, design, vocabSize, shapeCells(design, vocabSize, tuned), results, context));
}

/** Each shape's rate, chosen on validation loss like the ladder's. */
export function tuneShapesOf(fn: string, design: ScalingDesign, vocabSize: number, tuned: TunedRate[], results: SweepResult[], context: RunContext): TunedRate[] {
  return chosenRates(fn, sweepCells(fn, design, vocabSize, shapeCells(design, vocabSize, tuned), results, context));
}

/** Every shape at its own chosen rate with every seed, at the seed budget. */
export function shapeRunsOf(design: ScalingDesign, vocabSize: number, shapeRates: TunedRate[]): SweepRun[] {
  return shapeRates.flatMap((t) => design.seeds.map((seed) => isoflopRun(design, t.shape, vocabSize, design.seedBudget, t.rate, seed)));
}

/**
 * The IsoFLOP runs with tuned rates: every trainable size at every budget (seed 1) and the other
 * seeds at `seedBudget`. Cheapest budgets first, so the small budgets a prediction is fitted on
 * finish before the large ones it predicts.
 */
export function isoflopRuns(design: ScalingDesign, vocabSize: number, trainTokens: number, tuned: TunedRate[]): SweepRun[] {
  checkDesign("isoflopRuns", design, vocabSize, trainTokens);
  if (!Array.isArray(tuned)) throw new Error(`isoflopRuns: tuned must be the rates tuneLearningRates chose; got ${shown(tuned)}`);
  return isoflopRunsOf(design, vocabSize, trainTokens, tuned);
}

/** isoflopRuns on a design already checked, with rates tuneLearningRates chose. */
export function isoflopRunsOf(design: ScalingDesign, vocabSize: number, trainTokens: number, tuned: TunedRate[]): SweepRun[] {
  const rateOf = (shape: Shape) => {
    const t = tuned.find((r) => sameShape(r.shape, shape));
    if (!t) throw new Error(`isoflopRuns: no tuned learning rate for ${shapeName(shape)}`);
    return t.rate;
  };
  const runs: SweepRun[] = [];
  for (const { C, sizes } of sizesAtBudgets(design, vocabSize, trainTokens)) {
    const seeds = C === design.seedBudget ? design.seeds : [1];
    for (const seed of seeds) for (const shape of sizes) runs.push(isoflopRun(design, shape, vocabSize, C, rateOf(shape), seed));
  }
  return runs;
}

export interface ScalingSweep {
  design: ScalingDesign;
  rates: TunedRate[];
  /** The shapes' rates, each tuned on its own grid at the seed budget. */
  shapeRates: TunedRate[];
  /** The learning-rate sweep's runs. */
  tuning: SweepResult[];
  /** The IsoFLOP runs (with tuned rates), seeds and shapes. */
  runs: SweepResult[];
}
