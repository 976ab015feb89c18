import { afterEach, describe, expect, it, vi } from "vitest";

import { atScale, courseScale, parseScale, setScale } from "../lib/core/scale";

const saved = process.env.COURSE_SCALE;
afterEach(() => {
  if (saved === undefined) delete process.env.COURSE_SCALE;
  else process.env.COURSE_SCALE = saved;
});

describe("scale", () => {
  it("is full when unset (a student in Jupyter) and follows COURSE_SCALE otherwise", () => {
    delete process.env.COURSE_SCALE;
    expect(courseScale()).toBe("full");
    expect(atScale({ smoke: 10, full: 5000 })).toBe(5000);
    process.env.COURSE_SCALE = "smoke";
    expect(courseScale()).toBe("smoke");
    expect(atScale({ smoke: 10, full: 5000 })).toBe(10);
  });

  it("rejects unknown scales, naming where the value came from and what is allowed", () => {
    process.env.COURSE_SCALE = "medium";
    expect(() => courseScale()).toThrow(`COURSE_SCALE must be one of smoke, full; got "medium"`);
    expect(() => parseScale("Full", "--scale")).toThrow(`--scale must be one of smoke, full; got "Full"`);
  });

  it("setScale switches what later cells read and says so; a bad value changes nothing", () => {
    delete process.env.COURSE_SCALE;
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    setScale("smoke");
    expect(atScale({ smoke: 10, full: 5000 })).toBe(10);
    expect(log.mock.calls.at(-1)![0]).toMatch(/^scale: smoke\./);
    expect(() => setScale("tiny" as "smoke")).toThrow(`setScale must be one of smoke, full; got "tiny"`);
    expect(courseScale()).toBe("smoke");
    setScale("full");
    expect(log.mock.calls.at(-1)![0]).toMatch(/^scale: full\. .*setScale\("smoke"\)/);
    log.mockRestore();
  });
});
