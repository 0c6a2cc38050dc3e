// onnx-run.js: runs an ONNX file in onnxruntime-node (test-onnx-runtime.c).
//
// usage: node onnx-run.js MODEL.onnx INPUT.f32 N C H W OUTPUT.f32
//
// INPUT.f32 holds N x C x H x W little-endian float32 values (NCHW). The
// model runs once on all N images and once more in batches of 7 (the last
// one shorter), which only works when the batch dimension is dynamic;
// OUTPUT.f32 gets both outputs, one after the other. Prints the input and
// output names and the metadata keys for the test's log.
//
// NODE_PATH must point to a node_modules folder holding onnxruntime-node.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main () {
  const [modelPath, inputPath, n, c, h, w, outputPath] = process.argv.slice(2);
  const dims = [n, c, h, w].map(Number);
  const perImage = dims[1] * dims[2] * dims[3];
  const bytes = fs.readFileSync(inputPath);
  const input = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  if (input.length !== dims[0] * perImage)
    throw new Error(`input holds ${input.length} floats, not ${dims[0] * perImage}`);

  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all' });
  console.log(`inputs ${session.inputNames.join(',')} outputs ${session.outputNames.join(',')}`);
  if (session.inputNames.length !== 1 || session.inputNames[0] !== 'input')
    throw new Error('the model’s one input is not called “input”');

  const run = async (first, count) => {
    const slice = input.subarray(first * perImage, (first + count) * perImage);
    const feeds = { input: new ort.Tensor('float32', slice, [count, dims[1], dims[2], dims[3]]) };
    const results = await session.run(feeds);
    const out = results[session.outputNames[0]];
    if (out.dims.length !== 2 || out.dims[0] !== count)
      throw new Error(`output dims [${out.dims}] for ${count} images`);
    return out.data;
  };

  const whole = await run(0, dims[0]);
  const pieces = [];
  for (let first = 0; first < dims[0]; first += 7)
    pieces.push(await run(first, Math.min(7, dims[0] - first)));
  const batched = new Float32Array(whole.length);
  let offset = 0;
  for (const piece of pieces) {
    batched.set(piece, offset);
    offset += piece.length;
  }

  const all = new Float32Array(whole.length * 2);
  all.set(whole, 0);
  all.set(batched, whole.length);
  fs.writeFileSync(outputPath, Buffer.from(all.buffer));
  console.log(`ran ${dims[0]} images: ${whole.length / dims[0]} outputs each`);
}

main().catch((error) => {
  console.error(`onnx-run.js: ${error.message}`);
  process.exit(1);
});
