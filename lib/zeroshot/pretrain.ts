// One run of the lesson's experiment: count the concepts in a corpus, pretrain a small GPT on
// it (next-character prediction, nothing else), then ask it zero-shot about every concept.
import { GPT, type GPTConfig } from "../gpt/model";
import { train, type StepInfo } from "../gpt/train";
import { countConcepts } from "./count";
import { allConceptSentences, type ConceptWorld } from "./corpus";
import { conceptTokenizer, evaluateConcepts, type ConceptScore } from "./evaluate";

export interface ConceptPretrainOptions {
  world: ConceptWorld;
  /** The pretraining corpus, one line per entry. */
  sentences: readonly string[];
  model: Omit<GPTConfig, "vocabSize">;
  /** Optimizer steps; give this or `epochs`. */
  steps?: number;
  /** Passes over the corpus (steps = epochs · characters / (batchSize · blockSize)); give this or `steps`. */
  epochs?: number;
  batchSize: number;
  learningRate: number;
  weightDecay?: number;
  /** Seeds the weights and the batches. */
  seed?: number;
  /** Called after every step with the total number of steps (for a progress bar). */
  onStep?: (info: StepInfo, totalSteps: number) => void;
}

export interface ConceptRun {
  scores: ConceptScore[];
  /** Occurrences of every concept counted in this run's corpus. */
  frequency: Int32Array;
  /** Non-embedding parameters. */
  parameters: number;
  steps: number;
  /** Characters trained on. */
  tokens: number;
  /** Characters in the corpus. */
  corpusCharacters: number;
  /** Wall time of pretraining, and of the zero-shot evaluation after it. */
  trainSeconds: number;
  /** Threads that pretrained (train()'s data parallelism). */
  workers: number;
  evalSeconds: number;
  /** Mean training loss over the last tenth of the steps (nats per character). */
  finalLoss: number;
}

/** Counts, pretrains and evaluates; the model is freed before returning. */
export async function pretrainAndEvaluate(o: ConceptPretrainOptions): Promise<ConceptRun> {
  const fn = "pretrainAndEvaluate";
  if ((o.steps === undefined) === (o.epochs === undefined)) throw new Error(`${fn}: give exactly one of steps (${o.steps}) and epochs (${o.epochs})`);
  if (o.epochs !== undefined && !(Number.isFinite(o.epochs) && o.epochs > 0)) throw new Error(`${fn}: epochs must be a positive number; got ${o.epochs}`);
  if (o.sentences.length === 0) throw new Error(`${fn}: the corpus is empty`);
  const longest = Math.max(...allConceptSentences(o.world).map((line) => line.length)) + 1;
  if (o.model.blockSize < longest) {
    throw new Error(`${fn}: blockSize ${o.model.blockSize} is shorter than the longest question (${longest} characters with its line break); use at least ${longest}`);
  }
  const frequency = countConcepts(o.sentences, o.world.concepts.map((c) => c.name));
  const tokenizer = conceptTokenizer(o.world);
  // Every line starts after a line break, as the zero-shot prompts do.
  const ids = tokenizer.encode("\n" + o.sentences.join("\n") + "\n");
  const tokensPerStep = o.batchSize * o.model.blockSize;
  const steps = o.steps ?? Math.max(1, Math.round((o.epochs! * ids.length) / tokensPerStep));
  const seed = o.seed ?? 1;
  const model = GPT.create({ ...o.model, vocabSize: tokenizer.vocabSize }, seed);
  try {
    // No validation split: the zero-shot questions afterwards are the evaluation.
    const result = await train(model, { train: ids, val: ids }, {
      steps, batchSize: o.batchSize, learningRate: o.learningRate, minLearningRate: o.learningRate / 10, warmupSteps: Math.min(100, Math.ceil(steps / 10)),
      weightDecay: o.weightDecay ?? 0.1, evalBatches: 0, seed,
    }, { onStep: o.onStep ? (info) => o.onStep!(info, steps) : undefined });
    const last = result.steps.slice(-Math.max(1, Math.ceil(steps / 10)));
    const evalStarted = performance.now();
    const scores = await evaluateConcepts(model, tokenizer, o.world, frequency);
    return {
      scores,
      frequency,
      parameters: model.parameterCount.nonEmbedding,
      steps,
      tokens: result.tokens,
      corpusCharacters: ids.length,
      trainSeconds: result.seconds,
      workers: result.workers,
      evalSeconds: (performance.now() - evalStarted) / 1000,
      finalLoss: last.reduce((s, x) => s + x.loss, 0) / last.length,
    };
  } finally {
    model.dispose();
  }
}
