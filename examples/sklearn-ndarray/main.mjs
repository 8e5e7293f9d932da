// A scikit-learn model behind a pool, on arrays: rows of pixels go to Python as an
// NDArray (a numpy array there, no JSON), and labels and probabilities come back as
// NDArrays over the received bytes. Run `node main.mjs` after `pnpm run setup`.
import { fileURLToPath } from "node:url";
import { createPool, ndarray, silentLogger } from "@snakepit/core";

const here = fileURLToPath(new URL(".", import.meta.url));
const python = process.env.SNAKEPIT_PYTHON ?? fileURLToPath(new URL("../../python/.venv/bin/python", import.meta.url));

const pool = await createPool({
  size: 2,
  logger: silentLogger,
  python: { executable: python, adapter: "digits_model:DigitsModel", env: { PYTHONPATH: here } },
});
try {

  // Held-out rows from the worker (arrays come back as NDArray: dtype, shape, typed data).
  const { x, y } = await pool.execute("held_out", { n: 400 });
  console.log(`held out: x ${x.dtype} [${x.shape}] as ${x.data.constructor.name}, y ${y.dtype} [${y.shape}]`);

  // Send them back as a new array, as a service would send its own features.
  const rows = x.shape[0];
  const pixels = new Float32Array(x.data); // our own copy, e.g. after preprocessing in Node
  const { label, proba } = await pool.execute("predict", { x: ndarray(pixels, [rows, 64]) });
  let right = 0;
  for (let i = 0; i < rows; i++) if (label.data[i] === y.data[i]) right++;
  console.log(`predict: label ${label.dtype} [${label.shape}], proba ${proba.dtype} [${proba.shape}]`);
  console.log(`accuracy on ${rows} held-out digits: ${((100 * right) / rows).toFixed(1)}%`);
  console.log(`first row: digit ${label.data[0]} with p=${proba.data[Number(label.data[0])].toFixed(3)}`);

  // A wrong shape is the tool's own error, with its Python type.
  try {
    await pool.execute("predict", { x: ndarray(new Float32Array(10), [2, 5]) });
  } catch (err) {
    console.log(`wrong shape: code=${err.code} pythonType=${err.pythonType}: ${err.message.split("\n")[0]}`);
  }

  // Many small calls in flight, spread over both workers.
  const t = performance.now();
  const one = ndarray(pixels.subarray(0, 64), [1, 64]);
  await Promise.all(Array.from({ length: 200 }, () => pool.execute("predict", { x: one })));
  console.log(`200 single-row predictions in ${Math.round(performance.now() - t)} ms`);
} finally {
  await pool.close();
}
