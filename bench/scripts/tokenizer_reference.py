#!/usr/bin/env python3
"""Reference token ids from the Hugging Face `tokenizers` library, for Panomni's tokenizer parity test.

Reads a tokenizer.json and a UTF-8 sample file whose cases are separated by the line
"----8<----" (exactly "\\n----8<----\\n" between cases), encodes every case and the whole file,
and writes a JSON fixture that modalities' TokenizerParityTest compares against:

    {"tokenizers_version": ..., "tokenizer_sha256": ..., "sample_sha256": ..., "separator": ...,
     "cases": [{"name": "case 0", "text": ..., "ids": [...], "ids_with_special": [...],
                "offsets": [[start, end], ...], "decoded": ..., "decoded_skip_special": ...}, ...]}

`ids` are encode(text, add_special_tokens=False); `ids_with_special` use add_special_tokens=True;
`offsets` belong to `ids` and are converted to UTF-16 code units (Java string indices);
`decoded` is decode(ids, skip_special_tokens=False) and `decoded_skip_special` is
decode(ids, skip_special_tokens=True).

Usage (from the repository root; needs only `pip install tokenizers`):
    python bench/scripts/tokenizer_reference.py \\
        --tokenizer path/to/qwen3/tokenizer.json \\
        --sample modalities/src/test/resources/tokenizer/multilingual_sample.txt \\
        --out modalities/src/test/resources/tokenizer/qwen3_reference_ids.json
"""
import argparse
import hashlib
import json
import sys

SEPARATOR = "\n----8<----\n"


def utf16_index(text, index):
    """Index into a Python str (code points) -> index into the same text as UTF-16 code units."""
    return len(text[:index].encode("utf-16-le")) // 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokenizer", required=True, help="path to tokenizer.json")
    ap.add_argument("--sample", required=True, help="UTF-8 sample file, cases separated by ----8<---- lines")
    ap.add_argument("--out", required=True, help="where to write the JSON fixture")
    args = ap.parse_args()

    import tokenizers
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(args.tokenizer)
    with open(args.sample, "rb") as f:
        sample_bytes = f.read()
    sample = sample_bytes.decode("utf-8")
    with open(args.tokenizer, "rb") as f:
        tokenizer_sha = hashlib.sha256(f.read()).hexdigest()

    texts = [("case %d" % i, t) for i, t in enumerate(sample.split(SEPARATOR))]
    texts.append(("whole file", sample))
    cases = []
    for name, text in texts:
        enc = tok.encode(text, add_special_tokens=False)
        with_special = tok.encode(text, add_special_tokens=True)
        cases.append({
            "name": name,
            "text": text,
            "ids": enc.ids,
            "ids_with_special": with_special.ids,
            "offsets": [[utf16_index(text, s), utf16_index(text, e)] for s, e in enc.offsets],
            "decoded": tok.decode(enc.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True),
        })
    fixture = {
        "generator": "bench/scripts/tokenizer_reference.py",
        "tokenizers_version": tokenizers.__version__,
        "tokenizer_sha256": tokenizer_sha,
        "sample_sha256": hashlib.sha256(sample_bytes).hexdigest(),
        "separator": SEPARATOR,
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %d cases (%d tokens in the whole file) to %s with tokenizers %s"
          % (len(cases), len(cases[-1]["ids"]), args.out, tokenizers.__version__), file=sys.stderr)


if __name__ == "__main__":
    main()
