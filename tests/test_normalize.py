import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinysent.core.normalize import MAX_EXPANSION, VERSION, Normalizer, NormalizerConfig, normalize


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("@switchfoot http://twitpic.com/2y1zl - Awww", "@user http - Awww"),
        ("R&amp;R &quot;ok&quot;", 'R&R "ok"'),
        ("&amp;quot;", '"'),  # unescaped to a fixpoint
        ("sooooo goooood!!!!!!", "sooo goood!!!"),
        ("great day :) :-( ;) <3", "great day smile sad wink love"),
        ("lol :D XD", "lol laugh laugh"),
        ("I ❤️ this 😂", "I heavy black heart this face with tears of joy"),
        ("  spaced\t\nout  ", "spaced out"),
        ("mail me a@b.com", "mail me a@b.com"),
        ("www.example.com rocks", "http rocks"),
        ("http://x.y/a:)", "http"),
    ],
)
def test_defaults(raw, expected):
    assert normalize(raw) == expected


def test_hashtag_options():
    assert normalize("#happy day") == "#happy day"
    assert normalize("#happy day", NormalizerConfig(hashtags="strip")) == "happy day"
    assert normalize("#happy day", NormalizerConfig(hashtags="remove")) == "day"


def test_config_round_trip_and_version():
    cfg = NormalizerConfig(mention=None, max_repeat=2)
    assert NormalizerConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["version"] == VERSION
    assert normalize("@bob sooo", cfg) == "@bob soo"
    with pytest.raises(ValueError, match="upgrade tinysent"):
        NormalizerConfig.from_dict({"version": VERSION + 1})
    with pytest.raises(ValueError, match="max_repeat"):
        NormalizerConfig(max_repeat=1)


def test_rejects_non_strings():
    with pytest.raises(TypeError, match="takes a str"):
        normalize(None)


tweety = st.lists(
    st.sampled_from(
        list("ab :;()<3@#&;.!/Dpo_xw\t\n") + ["&amp;", "&quot;", "http://", "www.", "😂", "❤", "\ufe0f"]
    )
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), tweety))
def test_properties(s):
    n = Normalizer()
    out = n(s)  # never raises
    assert n(out) == out  # idempotent
    assert len(out) <= MAX_EXPANSION * len(s)  # bounded
