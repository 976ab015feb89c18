// Published scaling-law fits, for lessons to set their own fits beside. Units as in the papers:
// N counts parameters (Kaplan: non-embedding only), D counts tokens, losses are in nats per
// token on each paper's own data set, so only exponents compare across papers and with ours.

/** Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361, eqs. 1.1–1.3 (WebText2). */
export const KAPLAN_2020 = {
  source: "Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv:2001.08361",
  /** L(N) = (N_c/N)^α_N for models trained to convergence on ample data (eq. 1.1). */
  alphaN: 0.076,
  Nc: 8.8e13,
  /** L(D) = (D_c/D)^α_D for large models trained with early stopping (eq. 1.2). */
  alphaD: 0.095,
  Dc: 5.4e13,
  /** L(C_min) = (C_c^min/C_min)^α_C^min along the compute-efficient frontier (eq. 1.3); C in PF-days. */
  alphaCmin: 0.05,
  CcMin: 3.1e8,
  /** N_opt ∝ C_min^0.73 along that frontier: most extra compute goes to a bigger model (section 1.2). */
  nOptExponent: 0.73,
  /** D_opt ∝ C_min^0.27: batch size ∝ C^0.24 times steps ∝ C^0.03 (section 6.1). */
  dOptExponent: 0.27,
  /** At fixed N the loss depends only mildly on shape: aspect ratio d_model/n_layer varied 40× moves it a few percent (figure 5). */
  shape: { aspectRatioSpan: 40, where: "their figure 5" },
} as const;

/** Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", arXiv:2203.15556 (MassiveText). */
export const CHINCHILLA_2022 = {
  source: "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, arXiv:2203.15556, section 3.3 (approach 3)",
  /** L(N, D) = E + A/N^α + B/D^β fitted by approach 3. */
  E: 1.69,
  A: 406.4,
  B: 410.7,
  alpha: 0.34,
  beta: 0.28,
  /** N_opt ∝ C^a and D_opt ∝ C^b by each approach (table 2): roughly equal scaling of N and D. */
  exponents: {
    approach1: { a: 0.5, b: 0.5 },
    approach2: { a: 0.49, b: 0.51 },
    approach3: { a: 0.46, b: 0.54 },
  },
} as const;

/** Hestness et al. 2017, "Deep Learning Scaling is Predictable, Empirically", arXiv:1712.00409. */
export const HESTNESS_2017 = {
  source: "Hestness et al. 2017, Deep Learning Scaling is Predictable, Empirically, arXiv:1712.00409",
  /**
   * Generalisation error ε(m) ≈ α·m^β_g + γ in training-set size m; across machine translation,
   * language modelling, image classification and speech recognition the exponent β_g fell
   * between −0.35 and −0.07 (steeper for images and speech, shallowest for language models),
   * shallower than the −0.5 that theory suggested.
   */
  exponentRange: [-0.35, -0.07],
} as const;
