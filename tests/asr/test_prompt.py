"""The initial prompt: names first, stages after, inside Whisper's window; simplified output."""

from bot.asr.prompt import PROMPT_TOKEN_BUDGET, build_prompt, count_prompt_tokens, to_simplified

STAGES = ["初步接洽", "需求确认", "方案", "报价", "谈判", "签约"]


def test_prompt_lists_customer_names_then_stages_with_chinese_punctuation() -> None:
    prompt = build_prompt(["杭州启明科技有限公司", "启明"], STAGES)
    assert (
        prompt.index("杭州启明科技有限公司") < prompt.index("、启明。") < prompt.index("初步接洽")
    )
    assert prompt.endswith("签约。")
    assert "," not in prompt


def test_prompt_stays_inside_whisper_window_with_many_customers() -> None:
    names = [f"第{number}号客户科技有限公司" for number in range(300)]
    prompt = build_prompt(names, STAGES)
    assert count_prompt_tokens(prompt) <= PROMPT_TOKEN_BUDGET
    assert "第0号客户科技有限公司" in prompt  # the first (most important) names are kept
    assert "第299号客户" not in prompt
    assert "签约" in prompt


def test_blank_and_repeated_names_are_left_out() -> None:
    assert build_prompt(["启明", " ", "启明", ""], []) == build_prompt(["启明"], [])


def test_no_names_and_no_stages_is_no_prompt() -> None:
    assert build_prompt([], []) == ""


def test_traditional_output_becomes_simplified_with_full_width_commas() -> None:
    assert to_simplified("華東醫療張總說預算批了,明天下午三點電話確認") == (
        "华东医疗张总说预算批了，明天下午三点电话确认"
    )


def test_english_text_keeps_its_ascii_punctuation() -> None:
    assert to_simplified("Met Acme, she wants a quote.") == "Met Acme, she wants a quote."
