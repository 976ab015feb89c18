import { beforeAll, describe, expect, it } from "vitest";

import { chooseBackend } from "../lib/core/backend";
import { GPT } from "../lib/gpt/model";
import { classMeans, predictFromScores } from "../lib/gpt/zeroShot";
import { accuracy, newlineRule } from "../lib/reuse/baselines";
import { baselineRuns, probeCurve, probeRuns, zeroShotRuns } from "../lib/reuse/frozen";
import { speakerScores } from "../lib/reuse/methods";
import { reuseData, reuseDesign, seedSample } from "../lib/reuse/study";

const design = reuseDesign("smoke");
const data = reuseData(design);
const seeds = [1, 2];
let model: GPT;
beforeAll(async () => {
  await chooseBackend("wasm");
  model = GPT.create({ ...design.model, vocabSize: data.tokenizer.vocabSize }, 3);
});

describe("methods that train no network weight, on every seed", () => {
  it("baselines: the majority class scores chance on the balanced test sets; the newline rule is the rule", () => {
    const runs = baselineRuns(design, data, seeds);
    for (const task of data.tasks) {
      for (const seed of seeds) {
        const mine = runs.filter((r) => r.task === task.name && r.seed === seed);
        expect(mine.find((r) => r.method === "majority class")!.testAccuracy).toBeCloseTo(1 / task.classes.length, 12);
        expect(mine.find((r) => r.method === "bag of characters")!.trainableParams).toBe((data.tokenizer.vocabSize + 1) * task.classes.length);
      }
    }
    const verse = data.tasks.find((t) => t.name === "verse or prose")!;
    const rule = runs.filter((r) => r.method === "newline rule");
    expect(rule).toHaveLength(seeds.length);
    expect(rule[0].testAccuracy).toBe(accuracy(verse.test.texts.map(newlineRule), verse.test.labels));
  });

  it("zero-shot: calibrates with each seed's training inputs only, and the raw answer needs no seed", async () => {
    const { runs, typicalityAuroc } = await zeroShotRuns(model, design, data, seeds);
    const speaker = data.tasks.find((t) => t.name === "speaker")!;
    const testScores = await speakerScores(model, data.tokenizer, speaker.test.texts, speaker.classes);
    const poolScores = await speakerScores(model, data.tokenizer, speaker.pool.texts, speaker.classes);
    for (const seed of seeds) {
      const bias = classMeans(seedSample(design, speaker, seed).train.map((i) => poolScores[i]));
      const calibrated = runs.find((r) => r.method === "zero-shot, calibrated" && r.seed === seed)!;
      expect(calibrated.testAccuracy).toBe(accuracy(predictFromScores(testScores, bias), speaker.test.labels));
    }
    const raw = runs.filter((r) => r.method === "zero-shot, raw").map((r) => r.testAccuracy);
    expect(new Set(raw).size).toBe(1);
    expect(runs.filter((r) => r.method === "zero-shot, typicality")).toHaveLength(seeds.length);
    expect(typicalityAuroc).toBeGreaterThanOrEqual(0);
    expect(typicalityAuroc).toBeLessThanOrEqual(1);
  });

  it("probes: one per model, task and seed, reported at the layer its validation examples chose", async () => {
    const initial = GPT.create({ ...design.model, vocabSize: data.tokenizer.vocabSize }, 4);
    const { runs, fits } = await probeRuns([{ name: "a", model }, { name: "b", model: initial }], design, data, seeds);
    expect(runs).toHaveLength(2 * data.tasks.length * seeds.length);
    for (const fit of fits) {
      fit.seeds.forEach((s, k) => {
        expect(s.testByLayer).toHaveLength(design.model.nLayer + 2);
        expect(s.validationByLayer[s.chosenLayer]).toBe(Math.max(...s.validationByLayer));
        const row = runs.find((r) => r.task === fit.task && r.method === `linear probe, ${fit.model}` && r.seed === seeds[k])!;
        expect(row.testAccuracy).toBe(s.testByLayer[s.chosenLayer]);
      });
    }
    initial.dispose();
  });

  it("the probes' learning curve: every size, model and seed, plus the bag of characters", async () => {
    const points = await probeCurve([{ name: "a", model }], design, data, ["verse or prose"]);
    expect(points.map((p) => [p.method, p.perClass])).toEqual(design.curve.perClass.flatMap((n) => [["linear probe, a", n], ["bag of characters", n]]));
    for (const p of points) {
      expect(p.accuracies).toHaveLength(design.curve.seeds.length);
      p.accuracies.forEach((a) => { expect(a).toBeGreaterThanOrEqual(0); expect(a).toBeLessThanOrEqual(1); });
    }
    await expect(probeCurve([{ name: "a", model }], design, data, ["sentiment"])).rejects.toThrow('no task "sentiment"');
  });
});
