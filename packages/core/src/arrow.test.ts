import { tableFromArrays, type Table } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue } from "./codec.js";

describe("Arrow tables in the codec", () => {
  it("a Table travels as one Arrow IPC attachment and comes back equal", () => {
    const table = tableFromArrays({ x: new Float64Array([1.5, 2, 3]), s: ["a", "b", "c"] });
    const encoded = encodeValue({ t: table, n: 1 }, "args", 1 << 20);
    expect(Buffer.from(encoded.json).toString()).toBe('{"t":{"$snakepit:arrow":0},"n":1}');
    expect(encoded.attachments).toHaveLength(1);
    const back = decodeValue(encoded.json, encoded.attachments) as { t: Table };
    expect(back.t.numRows).toBe(3);
    expect([...back.t.getChild("x")!.toArray()]).toEqual([1.5, 2, 3]);
    expect(back.t.getChild("s")!.toArray()).toEqual(["a", "b", "c"]);
  });

  it("refuses the reserved key and a placeholder without its attachment", () => {
    expect(() => encodeValue({ "$snakepit:arrow": 0 }, "args", 1 << 20)).toThrow(/reserved/);
    expect(() => decodeValue(Buffer.from('{"$snakepit:arrow":2}'), [])).toThrow(/missing attachment 2/);
  });
});
