"""Write a randomly initialised student folder (e.g. the TinyBERT 4L-312D shape) with a teacher's tokenizer,
so that `tinysent train --base FOLDER` fine-tunes the same architecture without distillation."""

import argparse

from tinysent.models import STUDENT_SHAPES, build_student, load_tokenizer, resolve_base

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--shape", default="tinybert-4l", choices=sorted(STUDENT_SHAPES))
p.add_argument("--tokenizer", required=True, help="model name or folder whose tokenizer (vocab) to use")
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
tok = load_tokenizer(resolve_base(a.tokenizer))
model = build_student(a.shape, tok.vocab_size, seed=a.seed)
model.save_pretrained(a.out, safe_serialization=True)
tok.save_pretrained(a.out)
print(a.out, sum(p.numel() for p in model.parameters()), "parameters")
