"""``tinysent models``: the installed models, by name, with their tier, size and scores."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tinysent.data.config import option


@dataclass
class ModelsOptions:
    json: bool = option(False, "one JSON object per model instead of the table")


HELP = (
    "the installed models (the shipped one and model packages): name, tier, shape, parameters, size, "
    "speed relative to the shipped model, test scores"
)
Options = ModelsOptions


def run(args) -> int:
    from tinysent.runtime.registry import SCORE, installed_models

    models = installed_models()
    if args.json:
        for m in models:
            row = {"name": m.name, "tier": m.tier, "package": m.package, "size_bytes": m.size_bytes}
            row |= {"shape": m.shape, "parameters": m.parameters, "speed": m.speed}
            print(json.dumps({**row, "path": str(m.path), "card": m.card}))
        return 0
    print(
        f"{'name':<16} {'tier':<9} {'shape':<8} {'params':>6} {'size':>8} {'speed':>6}  "
        f"{'TweetEval test':>14}  {'Sentiment140':>12}  package"
    )
    for m in models:
        scores = m.card.get("scores", {})
        te = scores.get(SCORE)
        s140 = scores.get("sentiment140_test_accuracy")
        n, rel = m.parameters, m.speed
        print(
            f"{m.name:<16} {m.tier:<9} {m.shape:<8} {'–' if n is None else f'{n / 1e6:.1f}M':>6} "
            f"{m.size_bytes / 2**20:>6.1f}MB {'–' if rel is None else f'{rel:.2f}x':>6}  "
            f"{'–' if te is None else f'{te:.3f}':>14}  {'–' if s140 is None else f'{s140:.1%}':>12}  "
            f"{m.package or 'tinysent (shipped)'}"
        )
    if not any(m.tier == "accurate" for m in models):
        from tinysent.runtime.registry import accurate_install_hint

        print(f"no accurate model installed: {accurate_install_hint()}")
    return 0
