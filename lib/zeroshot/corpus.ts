// A controlled pretraining corpus about attribute–object concepts ("wet dog", "ripe tomato").
//
// The world has two kinds of knowledge:
//   - compositional: a concept's texture comes from its attribute (every wet thing is cool) and
//     its colour from its object (every dog is red), so it can be known from the parts alone;
//   - particular: where the concept is found (the wet dog is in the barn) is drawn at random per
//     pair, so it can only be learnt from text about that very pair.
// Each line states both, in one of a few phrasings ("wet dog: cool red, barn.", "the wet dog is
// cool and red, found at the barn.", …). Every concept has one phrasing that it never appears in,
// so a question asked in that phrasing cannot be answered by recalling a line seen in training.
// Concepts occur with Zipf-distributed frequencies; some pairs never occur at all (held out),
// although their words do.
import { checkInteger, checkPositiveInteger, checkProbability, checkThat, refuse, shown } from "../core/checks";
import { Random } from "../core/random";
import { ConceptMatcher } from "./count";
import { checkZipf, ZipfSampler } from "./zipf";

export const ATTRIBUTE_WORDS = [
  "wet", "dry", "ripe", "old", "young", "tiny", "huge", "happy", "angry", "sleepy", "shiny", "dusty",
  "muddy", "frozen", "fresh", "rotten", "fuzzy", "smooth", "striped", "spotted", "broken", "hungry", "noisy", "quiet",
] as const;
export const OBJECT_WORDS = [
  "dog", "cat", "tomato", "apple", "horse", "cow", "boat", "car", "chair", "lamp", "bird", "fish",
  "rose", "cake", "shoe", "hat", "drum", "kite", "bell", "egg", "goat", "pear", "sock", "cup",
] as const;
/** What the attribute decides; distinct first letters, so the first character names the answer. */
export const TEXTURE_WORDS = ["soft", "hard", "cool", "warm"] as const;
/** What the object decides. */
export const COLOUR_WORDS = ["red", "blue", "gold", "pink"] as const;
/** Where a concept is found: particular to each pair. */
export const PLACE_WORDS = ["barn", "cave", "dock", "farm", "hill", "lake", "park", "shop"] as const;

/**
 * One phrasing of a line: before + name + afterName + traits + afterTraits + place + ".".
 * The name always comes first and the place last, so the place can be asked after the rest.
 */
export interface Template {
  before: string;
  afterName: string;
  traits: (texture: string, colour: string) => string;
  afterTraits: string;
}

export const TEMPLATES: readonly Template[] = [
  { before: "", afterName: ": ", traits: (t, c) => `${t} ${c}`, afterTraits: ", " },
  { before: "the ", afterName: " is ", traits: (t, c) => `${t} and ${c}`, afterTraits: ", found at the " },
  { before: "see a ", afterName: ", ", traits: (t, c) => `${c} and ${t}`, afterTraits: ", by the " },
  { before: "meet this ", afterName: " (", traits: (t, c) => `${t}, ${c}`, afterTraits: ") near the " },
];

export interface Concept {
  /** "wet dog" */
  name: string;
  attribute: number;
  object: number;
  /** Index into places: where this pair is found (random per pair). */
  place: number;
  /** Never in the pretraining corpus, although its attribute and object are. */
  heldOut: boolean;
  /** The phrasing (index into TEMPLATES) this concept never appears in: the one its questions are asked in. */
  testTemplate: number;
}

export interface ConceptWorld {
  attributes: string[];
  objects: string[];
  textures: string[];
  colours: string[];
  places: string[];
  /** Texture index of each attribute. */
  textureOf: number[];
  /** Colour index of each object. */
  colourOf: number[];
  /** Every attribute–object pair, attribute-major. */
  concepts: Concept[];
  /** Indices of the concepts that occur in pretraining, most popular first (Zipf rank 1 first). */
  popularity: number[];
  /** Indices of the held-out concepts. */
  heldOut: number[];
  /** How many of TEMPLATES the corpus uses. */
  templates: number;
}

export interface ConceptWorldOptions {
  /** How many attribute words (at most 24); default 20. */
  attributes?: number;
  /** How many object words (at most 24); default 20. */
  objects?: number;
  /**
   * Fraction of pairs kept out of pretraining; default 0.1. A target that would leave an
   * attribute or object with fewer than two seen pairs is not reached: fewer pairs are held out
   * (world.heldOut lists those that are), e.g. at most 3 of the 9 pairs of a 3 × 3 world.
   */
  heldOutFraction?: number;
  /** Phrasings in use, 2 to TEMPLATES.length (default all); each concept appears in all but one. */
  templates?: number;
  seed?: number;
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** `count` labels in [0, classes) in equal shares (as equal as count allows), in random order. */
function balanced(count: number, classes: number, random: Random): number[] {
  return shuffle(Array.from({ length: count }, (_, i) => i % classes), random);
}

/**
 * A seeded world of attribute–object concepts. Textures, colours and places are spread evenly;
 * held-out pairs are chosen so that every attribute and every object still occurs in at least
 * two pairs that are seen in pretraining, which may hold out fewer pairs than heldOutFraction
 * asks for (world.heldOut has the pairs actually held out).
 */
export function buildConceptWorld(options: ConceptWorldOptions = {}): ConceptWorld {
  const { attributes: nA = 20, objects: nO = 20, heldOutFraction = 0.1, templates = TEMPLATES.length, seed = 1 } = options;
  for (const [label, n, max] of [["attributes", nA, ATTRIBUTE_WORDS.length], ["objects", nO, OBJECT_WORDS.length]] as const) {
    checkInteger("buildConceptWorld", label, n, 3, max);
  }
  if (!(heldOutFraction >= 0 && heldOutFraction <= 0.5)) throw new Error(`buildConceptWorld: heldOutFraction must be in [0, 0.5]; got ${shown(heldOutFraction)}`);
  checkInteger("buildConceptWorld", "templates", templates, 2, TEMPLATES.length);
  const random = new Random(seed);
  const attributes = ATTRIBUTE_WORDS.slice(0, nA);
  const objects = OBJECT_WORDS.slice(0, nO);
  const textureOf = balanced(nA, TEXTURE_WORDS.length, random);
  const colourOf = balanced(nO, COLOUR_WORDS.length, random);
  const places = balanced(nA * nO, PLACE_WORDS.length, random);
  const testTemplates = balanced(nA * nO, templates, random);
  const concepts: Concept[] = [];
  for (let a = 0; a < nA; a++) {
    for (let o = 0; o < nO; o++) {
      const i = a * nO + o;
      concepts.push({ name: `${attributes[a]} ${objects[o]}`, attribute: a, object: o, place: places[i], heldOut: false, testTemplate: testTemplates[i] });
    }
  }
  // Hold out pairs at random, as long as both parts keep at least two seen pairs.
  const target = Math.round(heldOutFraction * concepts.length);
  const seenWithAttribute = new Array<number>(nA).fill(nO);
  const seenWithObject = new Array<number>(nO).fill(nA);
  const heldOut: number[] = [];
  for (const c of shuffle(concepts.map((_, i) => i), random)) {
    if (heldOut.length === target) break;
    const { attribute: a, object: o } = concepts[c];
    if (seenWithAttribute[a] <= 2 || seenWithObject[o] <= 2) continue;
    concepts[c].heldOut = true;
    seenWithAttribute[a]--;
    seenWithObject[o]--;
    heldOut.push(c);
  }
  heldOut.sort((x, y) => x - y);
  const popularity = shuffle(concepts.map((_, i) => i).filter((i) => !concepts[i].heldOut), random);
  return {
    attributes, objects, textures: [...TEXTURE_WORDS], colours: [...COLOUR_WORDS], places: [...PLACE_WORDS], textureOf, colourOf, concepts, popularity, heldOut, templates,
  };
}

/** Throws unless `world` looks like buildConceptWorld's: concepts to ask about, 2 to TEMPLATES.length phrasings. */
function checkWorld(fn: string, world: ConceptWorld): void {
  if (world == null || !Array.isArray(world.concepts)) throw new Error(`${fn}: world must be a ConceptWorld (from buildConceptWorld); got ${shown(world)}`);
  checkInteger(fn, "world.templates", world.templates, 2, TEMPLATES.length);
}

function checkConcept(fn: string, world: ConceptWorld, concept: number, template: number): void {
  checkWorld(fn, world);
  checkThat(Number.isInteger(concept) && world.concepts[concept] !== undefined, fn, "concept", concept, `an index in [0, ${world.concepts.length})`);
  checkThat(Number.isInteger(template) && template >= 0 && template < world.templates, fn, "template", template, `an index in [0, ${world.templates})`);
}

/** The parts of a concept's line in one phrasing: `prompt + place + "."` is the line, `before + traits + afterTraits` too. */
export function conceptLineParts(world: ConceptWorld, concept: number, template: number): { before: string; traits: string; afterTraits: string; place: string } {
  checkConcept("conceptLineParts", world, concept, template);
  const c = world.concepts[concept], t = TEMPLATES[template];
  return {
    before: `${t.before}${c.name}${t.afterName}`,
    traits: t.traits(world.textures[world.textureOf[c.attribute]], world.colours[world.colourOf[c.object]]),
    afterTraits: t.afterTraits,
    place: world.places[c.place],
  };
}

/** A line the corpus says about a concept, in phrasing `template`: "wet dog: cool red, barn." for 0. */
export function conceptSentence(world: ConceptWorld, concept: number, template = 0): string {
  const p = conceptLineParts(world, concept, template);
  return `${p.before}${p.traits}${p.afterTraits}${p.place}.`;
}

/** Every line the world can produce, in every phrasing in use (for tokenizers and context lengths). */
export function allConceptSentences(world: ConceptWorld): string[] {
  checkWorld("allConceptSentences", world);
  return world.concepts.flatMap((_, i) => Array.from({ length: world.templates }, (_, t) => conceptSentence(world, i, t)));
}

/** The most lines a generated or resampled corpus holds (tens of characters each, as JS strings). */
const MAX_LINES = 10_000_000;

export interface CorpusOptions {
  /** Lines in the corpus. */
  sentences: number;
  /** Zipf exponent s of concept popularity (p ∝ rank^−s). */
  exponent: number;
  seed?: number;
}

/**
 * A pretraining corpus: `sentences` lines, each about one seen concept drawn by Zipf popularity,
 * in a phrasing drawn uniformly among those in use except the concept's test template.
 */
export function generateCorpus(world: ConceptWorld, options: CorpusOptions): string[] {
  const { sentences, exponent, seed = 1 } = options;
  checkPositiveInteger("generateCorpus", "sentences", sentences);
  if (sentences > MAX_LINES) refuse("generateCorpus", "sentences", sentences, `at most the ${MAX_LINES.toLocaleString("en-US")} lines a corpus in memory is built for`);
  checkWorld("generateCorpus", world);
  if (world.popularity.length === 0) throw new Error("generateCorpus: the world has no seen concepts (empty vocabulary)");
  checkZipf("generateCorpus", world.popularity.length, exponent);
  const sampler = new ZipfSampler(world.popularity.length, exponent);
  const random = new Random(seed);
  return Array.from(sampler.sampleMany(sentences, random), (rank) => {
    const c = world.popularity[rank];
    const shift = 1 + random.int(world.templates - 1); // any phrasing but the test one
    return conceptSentence(world, c, (world.concepts[c].testTemplate + shift) % world.templates);
  });
}

/** The first concept each sentence mentions, or −1. */
function firstMentions(sentences: readonly string[], phrases: readonly string[], where: string): Int32Array {
  const matcher = new ConceptMatcher(phrases, where);
  return Int32Array.from(sentences, (s, i) => {
    if (typeof s !== "string") throw new Error(`${where}: sentences[${i}] must be a string; got ${shown(s)}`);
    const m = matcher.mentions(s);
    return m.length ? m[0] : -1;
  });
}

/**
 * Resamples a corpus so that concept c, counted n_c times, gets a share ∝ n_c^temperature
 * (temperature 1 keeps the distribution, 0 makes it uniform over the concepts present), the way
 * multilingual models rebalance languages. Sentences that mention no concept keep their share.
 * Draws `size` sentences (default: as many as the corpus has) with replacement.
 */
export function rebalanceCorpus(sentences: readonly string[], phrases: readonly string[], options: { temperature: number; size?: number; seed?: number }): string[] {
  const fn = "rebalanceCorpus";
  const { temperature, size = sentences.length, seed = 1 } = options;
  checkProbability(fn, "temperature", temperature);
  if (!Array.isArray(sentences)) throw new Error(`${fn}: sentences must be an array of strings; got ${shown(sentences)}`);
  if (sentences.length === 0) throw new Error(`${fn}: the corpus is empty`);
  checkPositiveInteger(fn, "size", size);
  if (size > MAX_LINES) refuse(fn, "size", size, `at most the ${MAX_LINES.toLocaleString("en-US")} lines a corpus in memory is built for`);
  const first = firstMentions(sentences, phrases, fn);
  const groups = new Map<number, number[]>();
  first.forEach((c, i) => {
    const g = groups.get(c) ?? [];
    g.push(i);
    groups.set(c, g);
  });
  const keys = [...groups.keys()].sort((a, b) => a - b);
  const none = groups.get(-1)?.length ?? 0;
  let conceptMass = 0;
  for (const k of keys) if (k >= 0) conceptMass += Math.pow(groups.get(k)!.length, temperature);
  // Concept groups share the concept sentences' original fraction; the rest keeps its own.
  const conceptShare = (sentences.length - none) / sentences.length;
  const weights = keys.map((k) => (k < 0 ? none / sentences.length : (conceptShare * Math.pow(groups.get(k)!.length, temperature)) / conceptMass));
  const cdf: number[] = [];
  let sum = 0;
  for (const w of weights) cdf.push((sum += w));
  const random = new Random(seed);
  const out: string[] = [];
  for (let i = 0; i < size; i++) {
    const u = random.next() * sum;
    let g = cdf.findIndex((x) => x > u);
    if (g < 0) g = keys.length - 1;
    const members = groups.get(keys[g])!;
    out.push(sentences[members[random.int(members.length)]]);
  }
  return out;
}

/**
 * Prunes the head: keeps each concept's first `cap` sentences and drops the rest, like
 * deduplicating or capping over-represented concepts. Sentences that mention no concept stay.
 */
export function capConceptFrequency(sentences: readonly string[], phrases: readonly string[], cap: number): string[] {
  checkPositiveInteger("capConceptFrequency", "cap", cap);
  if (!Array.isArray(sentences)) throw new Error(`capConceptFrequency: sentences must be an array of strings; got ${shown(sentences)}`);
  const first = firstMentions(sentences, phrases, "capConceptFrequency");
  const kept = new Map<number, number>();
  return sentences.filter((_, i) => {
    const c = first[i];
    if (c < 0) return true;
    const n = kept.get(c) ?? 0;
    if (n >= cap) return false;
    kept.set(c, n + 1);
    return true;
  });
}
