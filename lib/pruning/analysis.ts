// What lesson 04 reads off a pruning experiment's rows: curves by rule and fraction, where
// keeping the hard examples starts to win, power laws on a common range, and comparisons at
// equal compute, with and without the cost of computing the scores.
import { fitPowerLaw, type PowerLawFit } from "../scaling/powerlaw";
import type { KeepRule } from "./select";
import { localExponents, paretoFrontier, type PruningRow, type ScoreName } from "./experiment";

/** The row for one rule, fraction kept and pool size (and score, when the rows hold several). */
export function pruningRow(rows: PruningRow[], keep: KeepRule, fraction: number, poolSize: number, score?: ScoreName): PruningRow {
  const row = rows.find((r) => r.keep === keep && r.fraction === fraction && r.poolSize === poolSize && (score === undefined || r.score === score));
  if (!row) throw new Error(`pruningRow: no row keeps ${keep} ${fraction} of a pool of ${poolSize}${score ? ` by ${score}` : ""}`);
  return row;
}

/** One rule's runs at one fraction kept, fewest examples first: test error against training-set size. */
export function pruningCurve(rows: PruningRow[], keep: KeepRule, fraction: number): PruningRow[] {
  return rows.filter((r) => r.fraction === fraction && r.keep === keep).sort((a, b) => a.kept - b.kept);
}

/**
 * The smallest pool from which keeping the hardest `fraction` beats keeping the easiest at every
 * larger pool, and whether keep-easy wins somewhere below it; null when keep-hard never settles.
 */
export function crossover(rows: PruningRow[], fraction: number, poolSizes: number[]): { poolSize: number; easyWinsBelow: boolean } | null {
  const wins = poolSizes.map((p) => pruningRow(rows, "hard", fraction, p).testError < pruningRow(rows, "easy", fraction, p).testError);
  const from = wins.findIndex((_, i) => wins.slice(i).every((w) => w));
  return from < 0 ? null : { poolSize: poolSizes[from], easyWinsBelow: wins.slice(0, from).some((w) => !w) };
}

/** A power law error ≈ a·n^(−α) per fraction kept (keep hard), each fitted on kept sizes in [lo, hi] (±5%); null with < 2 points. */
export function powerLawsByFraction(rows: PruningRow[], fractions: number[], range: { lo: number; hi: number }): { fraction: number; fit: PowerLawFit | null }[] {
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
  /** The best pruned run that trains on as many examples (within 5%), so at equal training compute. */
  best: PruningRow;
}

/** At each unpruned run's training set size: the best pruned run of the same size (where one exists). */
export function equalCompute(rows: PruningRow[]): EqualComputeRow[] {
  return pruningCurve(rows, "hard", 1).flatMap((full) => {
    const rivals = rows.filter((r) => r.fraction < 1 && Math.abs(r.kept - full.kept) / full.kept < 0.05);
    if (rivals.length === 0) return [];
    return [{ full, best: rivals.reduce((a, b) => (b.testError < a.testError ? b : a)) }];
  });
}

/** The Pareto frontiers of error against compute: training compute only, and training plus scoring. */
export function computeFrontiers(rows: PruningRow[]): { training: (PruningRow & { compute: number; error: number })[]; withScoring: (PruningRow & { compute: number; error: number })[] } {
  return {
    training: paretoFrontier(rows.map((r) => ({ ...r, compute: r.trainingCompute, error: r.testError }))),
    withScoring: paretoFrontier(rows.map((r) => ({ ...r, compute: r.trainingCompute + r.scoringCompute, error: r.testError }))),
  };
}

/** How many unpruned runs some pruned run beats within the same budget once the scores' own cost is counted. */
export function budgetsWonWithScoring(rows: PruningRow[]): { won: number; budgets: number } {
  const withScoring = computeFrontiers(rows).withScoring;
  const unpruned = pruningCurve(rows, "hard", 1);
  const won = unpruned.filter((full) => {
    const affordable = withScoring.filter((p) => p.fraction < 1 && p.compute <= full.trainingCompute);
    return affordable.length > 0 && Math.min(...affordable.map((p) => p.error)) < full.testError;
  }).length;
  return { won, budgets: unpruned.length };
}
