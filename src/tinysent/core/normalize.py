"""Tweet normalisation: the one function training, prediction and serving all call.

The config is saved with every model (``tinysent.json``) and reapplied at prediction time, so a
model never sees text prepared differently from what it was trained on. Bump ``VERSION`` whenever
the output for some input changes; caches of tokenised data are keyed on it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from typing import Literal

from tinysent.core.errors import InputError, InputTypeError

VERSION = 1

#: Longest output per input character: the longest emoji name or emoticon word plus two spaces.
#: ``len(normalize(s)) <= MAX_EXPANSION * len(s)`` for every string ``s`` (tested with hypothesis).
MAX_EXPANSION = 90

# Emoticons as they appear in the test tweets (training tweets had them stripped: they were the
# labels). The uncased BERT vocab splits them into punctuation, so they become words.
EMOTICONS = {
    ":)": "smile",
    ":-)": "smile",
    ":]": "smile",
    "=)": "smile",
    "(:": "smile",
    ":o)": "smile",
    ":d": "laugh",
    ":-d": "laugh",
    "xd": "laugh",
    "=d": "laugh",
    ";)": "wink",
    ";-)": "wink",
    ";d": "wink",
    ":(": "sad",
    ":-(": "sad",
    ":[": "sad",
    "=(": "sad",
    "):": "sad",
    ":'(": "cry",
    ":,(": "cry",
    ":p": "playful",
    ":-p": "playful",
    ";p": "playful",
    ":/": "unsure",
    ":-/": "unsure",
    ":s": "unsure",
    ":|": "neutral face",
    ":o": "surprise",
    ":-o": "surprise",
    "o_o": "surprise",
    "<3": "love",
    "</3": "heartbreak",
}
_EMOTICON_RE = re.compile(
    r"(?<![\w:;=<>/])("
    + "|".join(re.escape(e) for e in sorted(EMOTICONS, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"(?<![\w@])@\w+")
_HASHTAG_RE = re.compile(r"(?<![\w#])#(\w+)")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202f\ufeff]")
# Pictographs, dingbats, symbols; skin-tone modifiers and joiners are dropped separately.
_EMOJI_RE = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f\u2b00-\u2bff\U0001f000-\U0001faff]"
)
_EMOJI_JUNK_RE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")


@dataclass(frozen=True)
class NormalizerConfig:
    """What the normaliser does. Saved with every model; ``version`` is the code's ``VERSION``."""

    unescape_html: bool = True
    mention: str | None = "@user"
    url: str | None = "http"
    max_repeat: int = 3
    emoticons: bool = True
    emoji: bool = True
    hashtags: Literal["keep", "strip", "remove"] = "keep"
    version: int = VERSION

    def __post_init__(self) -> None:
        if self.max_repeat < 2:
            raise InputError(f"max_repeat must be >= 2 (got {self.max_repeat}); 1 would merge 'oo' in 'good'")
        if self.hashtags not in ("keep", "strip", "remove"):
            raise InputError(f"hashtags must be 'keep', 'strip' or 'remove' (got {self.hashtags!r})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> NormalizerConfig:
        d = dict(d or {})
        if d.get("version", VERSION) > VERSION:
            raise InputError(
                f"model was saved with normaliser version {d['version']}, this tinysent has {VERSION}: "
                "upgrade tinysent to use it"
            )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@lru_cache(maxsize=4096)
def _emoji_word(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if not name:
        return " "
    return " " + name.lower().replace("-", " ")[: MAX_EXPANSION - 2] + " "


def _one_pass(text: str, cfg: NormalizerConfig, repeat_re: re.Pattern) -> str:
    if cfg.unescape_html and "&" in text:
        # Unescape to a fixpoint so that "&amp;quot;" and "&quot;" end the same.
        prev = None
        while prev != text:
            prev, text = text, html.unescape(text)
    text = _CONTROL_RE.sub(" ", text)
    # The cheap substring checks skip a regex scan for most tweets (the 1.6M must take < 60 s).
    if cfg.url is not None and ("://" in text or "ww." in text or "WW." in text or "Ww." in text):
        text = _URL_RE.sub(f" {cfg.url} ", text)
    if cfg.mention is not None and "@" in text:
        text = _MENTION_RE.sub(cfg.mention, text)
    if cfg.hashtags != "keep" and "#" in text:
        text = _HASHTAG_RE.sub(r"\1" if cfg.hashtags == "strip" else " ", text)
    text = repeat_re.sub(r"\1" * cfg.max_repeat, text)
    if cfg.emoticons and _may_have_emoticon(text):
        text = _EMOTICON_RE.sub(lambda m: f" {EMOTICONS[m.group(1).lower()]} ", text)
    if cfg.emoji and not text.isascii():
        text = _EMOJI_JUNK_RE.sub("", text)
        text = _EMOJI_RE.sub(lambda m: _emoji_word(m.group(0)), text)
    return " ".join(text.split())


def _may_have_emoticon(t: str) -> bool:
    return ":" in t or ";" in t or "=" in t or "<" in t or "_" in t or "xd" in t.lower()


@lru_cache(maxsize=16)
def _repeat_re(n: int) -> re.Pattern:
    return re.compile(r"(.)\1{%d,}" % n, re.DOTALL)


class Normalizer:
    """Callable normaliser; ``Normalizer(cfg)(text)`` is deterministic and idempotent."""

    def __init__(self, config: NormalizerConfig | None = None):
        self.config = config or NormalizerConfig()
        self._repeat = _repeat_re(self.config.max_repeat)

    def __call__(self, text: str) -> str:
        if not isinstance(text, str):
            raise InputTypeError(f"normalize() takes a str, got {type(text).__name__}")
        # One pass is almost always a fixpoint; a second pass catches the rare input whose
        # replacement forms a new match (e.g. a capped run that becomes an emoticon).
        out = _one_pass(text, self.config, self._repeat)
        for _ in range(4):
            again = _one_pass(out, self.config, self._repeat)
            if again == out:
                break
            out = again
        return out

    def many(self, texts) -> list[str]:
        return [self(t) for t in texts]


_DEFAULT = Normalizer()


def normalize(text: str, config: NormalizerConfig | None = None) -> str:
    """Normalise one tweet with ``config`` (the defaults when None)."""
    return (_DEFAULT if config is None else Normalizer(config))(text)
