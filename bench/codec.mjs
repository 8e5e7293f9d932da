// The argument encoder against JSON.stringify on number-heavy arguments (issue 10):
// a 500 x 64 float matrix, as a model's input would be. Run: node bench/codec.mjs
// (after pnpm run build). Prints the median per encode over ROUNDS rounds.
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { encodeValue } = await import(`${root}packages/core/dist/codec.js`);

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const matrix = Array.from({ length: 500 }, () => Array.from({ length: 64 }, () => Math.random() * 2 - 1));
const cases = {
  "500 x 64 floats": { x: matrix },
  "1000 small records": { rows: Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `row ${i}`, score: i / 7, tags: ["a", "b"] })) },
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn) {
  for (let i = 0; i < 20; i++) fn();
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

console.log("| arguments | JSON.stringify + Buffer.from, ms | encodeValue, ms | ratio |");
console.log("|---|---|---|---|");
for (const [name, value] of Object.entries(cases)) {
  const native = time(() => Buffer.from(JSON.stringify(value), "utf8"));
  const ours = time(() => encodeValue(value, "args", 64 * 1024 * 1024));
  console.log(`| ${name} | ${native.toFixed(3)} | ${ours.toFixed(3)} | ${(ours / native).toFixed(2)} |`);
}
