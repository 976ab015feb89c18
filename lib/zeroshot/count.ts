// Counting concepts in a corpus: how often each phrase ("wet dog") occurs as whole words.
// Frequencies are measured on the text the model is trained on, never taken from the
// distribution that generated it (Udandarao et al. 2024 likewise search the pretraining data itself).
import { shown } from "../core/checks";

const WORD_CHAR = /[\p{L}\p{N}_]/u;

const isWordChar = (ch: string | undefined): boolean => ch !== undefined && WORD_CHAR.test(ch);

/**
 * Finds whole-word occurrences of a fixed list of phrases. A phrase matches where its exact
 * characters occur with no letter, digit or underscore just before or just after them, so
 * "wet dog" is found in "a wet dog." but not in "wet doghouse" or "sweet dog". Overlapping
 * occurrences all count.
 */
export class ConceptMatcher {
  readonly phrases: string[];
  /** Phrase indices by first word. */
  private readonly byFirstWord = new Map<string, number[]>();

  constructor(phrases: readonly string[], where = "ConceptMatcher") {
    if (!Array.isArray(phrases)) throw new Error(`${where}: phrases must be an array of strings; got ${typeof phrases}`);
    if (phrases.length === 0) throw new Error(`${where}: no concepts to count (the vocabulary is empty); give at least one phrase`);
    const seen = new Map<string, number>();
    phrases.forEach((phrase, i) => {
      if (typeof phrase !== "string") throw new Error(`${where}: phrase ${i} must be a string; got ${shown(phrase)}`);
      if (phrase.length === 0) throw new Error(`${where}: phrase ${i} is empty; every concept needs a name`);
      const chars = Array.from(phrase);
      if (!isWordChar(chars[0]) || !isWordChar(chars[chars.length - 1])) {
        throw new Error(`${where}: phrase ${i} (${JSON.stringify(phrase)}) must start and end with a letter or digit`);
      }
      if (seen.has(phrase)) throw new Error(`${where}: phrase ${JSON.stringify(phrase)} appears twice (at ${seen.get(phrase)} and ${i}); concepts must be distinct`);
      seen.set(phrase, i);
      const first = phrase.match(/^[\p{L}\p{N}_]+/u)![0];
      const list = this.byFirstWord.get(first) ?? [];
      list.push(i);
      this.byFirstWord.set(first, list);
    });
    this.phrases = [...phrases];
  }

  /** Calls `found(conceptIndex)` once per occurrence in `text`, in order of position. */
  scan(text: string, found: (concept: number) => void): void {
    if (typeof text !== "string") throw new Error(`ConceptMatcher.scan: text must be a string; got ${shown(text)}`);
    if (typeof found !== "function") throw new Error(`ConceptMatcher.scan: found must be a function (concept) => void; got ${shown(found)}`);
    const wordRun = /[\p{L}\p{N}_]+/gu;
    for (let m = wordRun.exec(text); m !== null; m = wordRun.exec(text)) {
      const candidates = this.byFirstWord.get(m[0]);
      if (!candidates) continue;
      for (const c of candidates) {
        const phrase = this.phrases[c];
        const end = m.index + phrase.length;
        if (text.startsWith(phrase, m.index) && !wordCharAt(text, end)) found(c);
      }
    }
  }

  /** Occurrences of every phrase in `text` (or summed over several texts). */
  count(text: string | readonly string[]): Int32Array {
    const texts = typeof text === "string" ? [text] : text;
    if (!Array.isArray(texts)) throw new Error(`ConceptMatcher.count: text must be a string or an array of strings; got ${shown(text)}`);
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new Error(`ConceptMatcher.count: text[${i}] must be a string; got ${shown(t)}`);
    });
    const counts = new Int32Array(this.phrases.length);
    for (const t of texts) this.scan(t, (c) => counts[c]++);
    return counts;
  }

  /** The concepts each text mentions (in order of position, repeats included). */
  mentions(text: string): number[] {
    if (typeof text !== "string") throw new Error(`ConceptMatcher.mentions: text must be a string; got ${shown(text)}`);
    const out: number[] = [];
    this.scan(text, (c) => out.push(c));
    return out;
  }
}

/** Whether a letter, digit or underscore starts at UTF-16 offset `at` (whole code points, so letters outside the BMP count). */
function wordCharAt(text: string, at: number): boolean {
  const code = text.codePointAt(at);
  return code !== undefined && isWordChar(String.fromCodePoint(code));
}

/**
 * How often each concept phrase occurs, as whole words, in a corpus (one string or many):
 * `countConcepts(sentences, ["wet dog", "ripe tomato"])`.
 */
export function countConcepts(corpus: string | readonly string[], phrases: readonly string[]): Int32Array {
  if (typeof corpus !== "string" && !Array.isArray(corpus)) throw new Error(`countConcepts: the corpus must be a string or an array of strings; got ${typeof corpus}`);
  if (Array.isArray(corpus)) {
    corpus.forEach((t, i) => {
      if (typeof t !== "string") throw new Error(`countConcepts: corpus[${i}] must be a string; got ${shown(t)}`);
    });
  }
  return new ConceptMatcher(phrases, "countConcepts").count(corpus);
}
