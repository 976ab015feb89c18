// What lesson 04 reads off a pruning experiment's rows: curves by rule and fraction, where
// keeping the hard examples starts to win, power laws on a common range, and comparisons at
// equal compute, with and without the cost of computing the scores, and how well a score finds
// the truly hard examples.
import { checkKeepRule, selectByScore, type KeepRule } from "./select";
import { localExponents, paretoFrontier, rankCorrelation, type PruningRow, type ScoreName } from "./experiment";
import { checkSameLength, shown } from "../core/checks";
import { fitPowerLaw, meanInterval, type MeanInterval, type PowerLawFit } from "../core/numerics";

function checkRule(fn: string, keep: string, fraction: number): void {
  checkKeepRule(fn, keep);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`${fn}: fraction must be in (0, 1]; got ${shown(fraction)}`);
}

/** The row for one rule, fraction kept and pool size (and score, when the rows hold several). */
export function pruningRow(rows: PruningRow[], keep: KeepRule, fraction: number, poolSize: number, score?: ScoreName): PruningRow {
  checkRule("pruningRow", keep, fraction);
  const row = rows.find((r) => r.keep === keep && r.fraction === fraction && r.poolSize === poolSize && (score === undefined || r.score === score));
  if (!row) throw new Error(`pruningRow: no row keeps ${keep} ${fraction} of a pool of ${poolSize}${score ? ` by ${score}` : ""}`);
  return row;
}

/** One rule's runs at one fraction kept, fewest examples first: test error against training-set size (empty if the rows have none). */
export function pruningCurve(rows: PruningRow[], keep: KeepRule, fraction: number): PruningRow[] {
  checkRule("pruningCurve", keep, fraction);
  return rows.filter((r) => r.fraction === fraction && r.keep === keep).sort((a, b) => a.kept - b.kept);
}

/**
 * The smallest pool from which keeping the hardest `fraction` beats keeping the easiest at every
 * larger pool, and whether keep-easy wins somewhere below it; null when keep-hard never settles.
 */
export function crossover(rows: PruningRow[], fraction: number, poolSizes: number[]): { poolSize: number; easyWinsBelow: boolean } | null {
  if (poolSizes.length === 0) throw new Error("crossover: poolSizes is empty; give the pool sizes to compare keep-hard and keep-easy at");
  const wins = poolSizes.map((p) => pruningRow(rows, "hard", fraction, p).testError < pruningRow(rows, "easy", fraction, p).testError);
  const from = wins.findIndex((_, i) => wins.slice(i).every((w) => w));
  return from < 0 ? null : { poolSize: poolSizes[from], easyWinsBelow: wins.slice(0, from).some((w) => !w) };
}

/** A power law error ≈ a·n^(−α) per fraction kept (keep hard), each fitted on kept sizes in [lo, hi] (±5%); null with < 2 points. */
export function powerLawsByFraction(rows: PruningRow[], fractions: number[], range: { lo: number; hi: number }): { fraction: number; fit: PowerLawFit | null }[] {
  const fn = "powerLawsByFraction";
  if (fractions.length === 0) throw new Error(`${fn}: fractions is empty; give at least one`);
  if (range == null || !(range.lo > 0) || !(range.hi >= range.lo) || !Number.isFinite(range.hi)) {
    throw new Error(`${fn}: range must have finite lo and hi with 0 < lo ≤ hi; got ${shown(range)}`);
  }
  fractions.forEach((f) => checkRule(fn, "hard", f));
  return fractions.map((fraction) => {
    const inRange = pruningCurve(rows, "hard", fraction).filter((r) => r.kept >= range.lo * 0.95 && r.kept <= range.hi * 1.05);
    return { fraction, fit: inRange.length >= 2 ? fitPowerLaw(inRange.map((r) => r.kept), inRange.map((r) => r.testError)) : null };
  });
}

/**
 * Where a pruned curve (keep hard) falls faster than n^(−α): the range of n whose local exponent
 * exceeds α (null if none does) and the curve's steepest point; null for a curve of < 2 runs.
 */
export function fasterThan(
  rows: PruningRow[], fraction: number, alpha: number,
): { range: { from: number; to: number } | null; steepest: { x: number; exponent: number } } | null {
  if (!Number.isFinite(alpha)) throw new Error(`fasterThan: alpha must be a finite number (the exponent to compare with); got ${shown(alpha)}`);
  checkRule("fasterThan", "hard", fraction);
  const curve = pruningCurve(rows, "hard", fraction);
  if (curve.length < 2) return null;
  const points = localExponents(curve.map((r) => r.kept), curve.map((r) => r.testError));
  const faster = points.filter((p) => p.exponent > alpha);
  const steepest = points.reduce((a, b) => (b.exponent > a.exponent ? b : a));
  const range = faster.length ? { from: Math.min(...faster.map((p) => p.x)), to: Math.max(...faster.map((p) => p.x)) } : null;
  return { range, steepest };
}

export interface EqualComputeRow {
  /** The unpruned run: the whole pool, as random data. */
  full: PruningRow;
  /** Of the pruned runs that train on as many examples (within 5%), so at equal training compute, the one validation prefers. */
  best: PruningRow;
}

/** The run with the lowest validation error: how the lesson chooses among pruned runs, never by their test error. */
function chosenOnValidation(fn: string, runs: PruningRow[]): PruningRow {
  for (const r of runs) {
    if (Number.isNaN(r.validationError)) throw new Error(`${fn}: the runs carry no validation error; run pruningExperiment with validationSize > 0 (a choice among runs must not be made on their test error)`);
  }
  return runs.reduce((a, b) => (b.validationError < a.validationError ? b : a));
}

/** At each unpruned run's training set size: the pruned run of the same size that validation prefers (where one exists). */
export function equalCompute(rows: PruningRow[]): EqualComputeRow[] {
  return pruningCurve(rows, "hard", 1).flatMap((full) => {
    const rivals = rows.filter((r) => r.fraction < 1 && Math.abs(r.kept - full.kept) / full.kept < 0.05);
    if (rivals.length === 0) return [];
    return [{ full, best: chosenOnValidation("equalCompute", rivals) }];
  });
}

/**
 * The test error of run `a` minus that of run `b`, paired by seed (the same pool draws), with a
 * 95% t-interval over the seeds: below zero throughout means `a` is better beyond seed-to-seed luck.
 */
export function seedDifference(a: PruningRow, b: PruningRow): MeanInterval {
  checkSameLength("seedDifference", "a.testErrors", a.testErrors, "b.testErrors", b.testErrors);
  return meanInterval(a.testErrors.map((e, i) => e - b.testErrors[i]));
}

/** How a seedDifference reads: "lower" or "higher" when its interval excludes zero, else "indistinguishable" (also with one seed). */
export function differenceVerdict(d: MeanInterval): "lower" | "higher" | "indistinguishable" {
  return d.high < 0 ? "lower" : d.low > 0 ? "higher" : "indistinguishable";
}

/** The Pareto frontiers of error against FLOPs: training only, and training plus scoring (shared by `reuses` students). */
export function computeFrontiers(rows: PruningRow[], reuses = 1): { training: FrontierPoint[]; withScoring: FrontierPoint[] } {
  checkReuses("computeFrontiers", reuses);
  return {
    training: paretoFrontier(rows.map((r) => ({ ...r, compute: r.trainingFlops, error: r.testError }))),
    withScoring: paretoFrontier(rows.map((r) => ({ ...r, compute: r.trainingFlops + r.scoringFlops / reuses, error: r.testError }))),
  };
}

export type FrontierPoint = PruningRow & { compute: number; error: number };

/**
 * Power laws error ≈ a·C^(−α) in training compute over the budgets the unpruned runs span on kept
 * sizes [lo, hi] (±5%): of the unpruned runs themselves, and of the training-compute Pareto frontier
 * there; null with < 2 points. (For SGD compute is proportional to n; a Newton fit's is not quite.)
 */
export function powerLawsInCompute(rows: PruningRow[], range: { lo: number; hi: number }): { unpruned: PowerLawFit | null; frontier: PowerLawFit | null } {
  const unpruned = pruningCurve(rows, "hard", 1).filter((r) => r.kept >= range.lo * 0.95 && r.kept <= range.hi * 1.05);
  if (unpruned.length < 2) return { unpruned: null, frontier: null };
  const lo = Math.min(...unpruned.map((r) => r.trainingFlops)) * 0.95, hi = Math.max(...unpruned.map((r) => r.trainingFlops)) * 1.05;
  const onRange = computeFrontiers(rows).training.filter((p) => p.compute >= lo && p.compute <= hi);
  return {
    unpruned: fitPowerLaw(unpruned.map((r) => r.trainingFlops), unpruned.map((r) => r.testError)),
    frontier: onRange.length >= 2 ? fitPowerLaw(onRange.map((p) => p.compute), onRange.map((p) => p.error)) : null,
  };
}

/**
 * Does pruning a pool beat training on all of it? The pruned run of that pool validation prefers
 * (any rule and fraction) against the whole pool, with their seed-paired difference in test error.
 */
export function prunedAgainstWhole(rows: PruningRow[], poolSize: number): { whole: PruningRow; chosen: PruningRow; difference: MeanInterval } {
  const whole = pruningRow(rows, "hard", 1, poolSize);
  const pruned = rows.filter((r) => r.poolSize === poolSize && r.fraction < 1);
  if (pruned.length === 0) throw new Error(`prunedAgainstWhole: no pruned run of a pool of ${poolSize}`);
  const chosen = chosenOnValidation("prunedAgainstWhole", pruned);
  return { whole, chosen, difference: seedDifference(chosen, whole) };
}

export interface BudgetRow {
  /** The unpruned run whose training FLOPs set the budget. */
  full: PruningRow;
  /** Of the pruned runs whose training plus (shared) scoring FLOPs fit in that budget, the one validation prefers; null if none fits. */
  best: PruningRow | null;
}

/**
 * Equal compute with the scores paid for: at each unpruned run's training FLOPs, the pruned run
 * with the lowest validation error among those that cost no more, its score's FLOPs included. A
 * pruned data set trained on by `reuses` students pays for its scores once, so each student is
 * charged 1/reuses of them.
 */
export function equalComputeWithScoring(rows: PruningRow[], reuses = 1): BudgetRow[] {
  checkReuses("equalComputeWithScoring", reuses);
  const pruned = rows.filter((r) => r.fraction < 1);
  return pruningCurve(rows, "hard", 1).map((full) => {
    const affordable = pruned.filter((r) => r.trainingFlops + r.scoringFlops / reuses <= full.trainingFlops);
    return { full, best: affordable.length ? chosenOnValidation("equalComputeWithScoring", affordable) : null };
  });
}

/**
 * At how many budgets (unpruned runs) the pruned run chosen within them, the scores' own FLOPs
 * counted, has a lower test error (`won`), and how many of those lie beyond seed noise (its
 * seed-paired interval below zero).
 */
export function budgetsWonWithScoring(rows: PruningRow[], reuses = 1): { won: number; wonBeyondNoise: number; budgets: number } {
  const budgets = equalComputeWithScoring(rows, reuses);
  const won = budgets.filter(({ full, best }) => best !== null && best.testError < full.testError);
  const beyond = won.filter(({ full, best }) => differenceVerdict(seedDifference(best!, full)) === "lower");
  return { won: won.length, wonBeyondNoise: beyond.length, budgets: budgets.length };
}

function checkReuses(fn: string, reuses: number): void {
  if (!(reuses >= 1) || !Number.isFinite(reuses)) throw new Error(`${fn}: reuses (students sharing one scoring) must be a finite number ≥ 1; got ${reuses}`);
}

/**
 * How well a score finds the truly hard examples (those closest to the teacher's boundary):
 * Spearman's rank correlation with −|margin|, and the share of the score's hardest `fraction`
 * that is truly among the hardest `fraction` (a random score gets `fraction` on average).
 */
export function scoreAgreement(scores: ArrayLike<number>, teacherMargin: ArrayLike<number>, fraction = 0.2): { rankCorrelation: number; hardestOverlap: number } {
  const fn = "scoreAgreement";
  checkSameLength(fn, "scores", scores, "teacherMargin", teacherMargin);
  checkRule(fn, "hard", fraction);
  const closeness = Float64Array.from(teacherMargin, (t) => -Math.abs(t));
  const hardest = (values: ArrayLike<number>) => selectByScore(values, { fraction, keep: "hard" });
  const truly = new Set(hardest(closeness));
  const found = Array.from(hardest(scores)).filter((i) => truly.has(i)).length;
  return { rankCorrelation: rankCorrelation(scores, closeness), hardestOverlap: found / truly.size };
}
