// Independent references that several test files check the library against.

/** |got − want| / |want|. */
export const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

/** Central finite differences of f at x, step h·max(1, |x_i|): the reference for analytic gradients. */
export function numericGradient(f: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((xi, i) => {
    const step = h * Math.max(1, Math.abs(xi));
    const plus = x.slice(), minus = x.slice();
    plus[i] = xi + step;
    minus[i] = xi - step;
    return (f(plus) - f(minus)) / (2 * step);
  });
}
