"""Sound-alike repair of voice transcripts: what it fixes, what it must leave alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.rules import load_rules, shipped_lexicon
from handlers.extraction import CustomerRef
from handlers.extraction.repair import customer_words, repair_transcript
from tests.asr.conftest import VOICE_DIR

HERE = Path(__file__).parent
LEXICON = load_rules().lexicon_words
CUSTOMERS = [
    CustomerRef(1, "佛山宏达建材", ("宏达建材", "宏达")),
    CustomerRef(2, "苏州瑞康药业", ("瑞康药业", "瑞康")),
]


def repaired(text: str, *, trusted: tuple[str, ...] = ()) -> str:
    return repair_transcript(text, LEXICON, trusted=customer_words(CUSTOMERS) + trusted).text


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("下周一过一下和同条款", "下周一过一下合同条款"),  # he tong: 和同 is no word
        ("月底前走完省屁流程", "月底前走完审批流程"),  # sheng/shen: -ng merged
        ("下周三前给个反亏", "下周三前给个反馈"),  # tones ignored
        ("电话却认了数量", "电话确认了数量"),
        ("三天内计出发票", "三天内寄出发票"),
        ("后天上午十点上门眼书", "后天上午十点上门演示"),  # a phrase: one syllable a near miss
        ("明天把花票寄过去", "明天把发票寄过去"),  # h/f: hua / fa
        ("下周提交投镖文件", "下周提交投标文件"),
    ],
)
def test_sales_words_misheard_by_sound_are_repaired(heard: str, meant: str) -> None:
    assert repaired(heard) == meant


@pytest.mark.parametrize(
    "typed",
    [
        "我和同事下周一起去拜访",  # 和同 would sound like 合同, but 同事 is a word across its edge
        "这是事实，客户不认",  # 事实 sounds like 实施 and is a word itself
        "王总的经历很丰富",  # 经历 / 经理
        "张经理说下周一前付清尾款",  # 张经理 is no 总经理: a near miss never at a word's start
        "李总约了今晚八点视频会议",  # 总淹 → 终验 once: a rare word is no better reading
        "试试看能不能便宜一点",  # 试试 / 实施
    ],
)
def test_correct_text_is_left_alone(typed: str) -> None:
    assert repaired(typed) == typed


def test_a_customers_own_contact_repairs_a_common_word_that_sounds_the_same() -> None:
    assert repaired("宏达建材王经历嫌价格高") == "宏达建材王经历嫌价格高"  # not known: kept
    assert repaired("宏达建材王经历嫌价格高", trusted=("王经理",)) == "宏达建材王经理嫌价格高"


def test_misheard_customer_names_are_written_as_the_customer() -> None:
    out = repair_transcript(
        "红搭建彩下个月越底前回款十万", LEXICON, trusted=customer_words(CUSTOMERS)
    )
    assert out.text == "宏达建材下个月月底前回款十万"
    assert [(f.heard, f.word) for f in out.fixes] == [
        ("红搭建彩", "宏达建材"),
        ("越底前", "月底前"),
    ]
    assert out.raw == "红搭建彩下个月越底前回款十万"


@pytest.mark.parametrize(
    "path",
    [VOICE_DIR.parent / "extraction_dev.json", VOICE_DIR / "voice_dev.json"],
    ids=["extraction_dev", "voice_dev_text"],
)
def test_typed_dev_notes_are_never_changed(path: Path) -> None:
    """What the reps really said (typed) must come out of the repair unchanged."""
    data = json.loads(path.read_text(encoding="utf-8"))
    customers = [
        CustomerRef(i + 1, c["name"], tuple(c.get("aliases", ())))
        for i, c in enumerate(data["customers"])
    ]
    trusted = customer_words(customers)
    changed = [
        (item["text"], fixed.text)
        for item in data["items"]
        if (fixed := repair_transcript(item["text"], LEXICON, trusted=trusted)).changed
    ]
    assert changed == []


def test_the_lexicon_is_general_sales_vocabulary_of_a_few_hundred_words() -> None:
    words = [w for group in shipped_lexicon().values() for w in group]
    assert len(words) >= 300
    assert len(set(words)) == len(words)
    assert {"报价", "合同", "验收", "发票", "续约", "试用", "演示", "招标", "样品"} <= set(words)


def test_admins_extend_the_lexicon_in_their_rules_file(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[2] / "config" / "rules_default.yaml").read_text("utf-8")
    head = shipped.split("\nlexicon:", 1)[0]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        head + "\nlexicon:\n  products: [云影系统, 影像云平台]\n  when: [月底前]\n", "utf-8"
    )
    rules = load_rules(rules_file)
    assert "云影系统" in rules.lexicon_words  # a group of their own
    assert "合同" in rules.lexicon_words  # the shipped groups stay
    assert "国庆后" not in rules.lexicon_words  # a group they name replaces the shipped one
    assert set(rules.stage_names) <= set(rules.lexicon_words)
    out = repair_transcript("下周去演示云印系统", rules.lexicon_words)
    assert out.text == "下周去演示云影系统"


def test_a_lexicon_word_of_one_character_is_refused(tmp_path: Path) -> None:
    shipped = (Path(__file__).parents[2] / "config" / "rules_default.yaml").read_text("utf-8")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(shipped.split("\nlexicon:", 1)[0] + "\nlexicon:\n  x: [约]\n", "utf-8")
    from config.rules import RulesError

    with pytest.raises(RulesError, match=r"lexicon\.x\.0"):
        load_rules(rules_file)
