"""The contact person a note names (李主任, 王经理, 张总, 刘工), else a role (负责人, the CTO)."""

from __future__ import annotations

import re

from handlers.extraction.model import Found

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关"
    "兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻"
)
_DOUBLE_SURNAMES = "欧阳|司马|上官|诸葛|东方|皇甫|尉迟|公孙|慕容|令狐|宇文|长孙|夏侯"
_TITLES = (
    "总经理|副总经理|副总裁|总裁|总监|董事长|副院长|院长|副主任|主任|经理|处长|科长|部长|局长|所长"
    "|主管|老师|医生|大夫|教授|博士|书记|秘书|助理|老板|工程师|律师|会计"
)
# 张总 and 刘工 are people; 总结, 总价, 施工方案, 工期 are not: a one-character title counts
# only before punctuation, the end, or a word that goes with a person (说, 对, 要, 今晚…).
_WITH_A_PERSON = "说讲对要同表反提让也和跟在这那已会还再都今明后下约答承保希觉认确打发给的们"
_AFTER_PERSON = rf"(?=$|[^\u4e00-\u9fff]|[{_WITH_A_PERSON}])"
_SHORT_TITLES = rf"(?:总|工){_AFTER_PERSON}"
_PERSON_RE = re.compile(
    rf"(?:{_DOUBLE_SURNAMES}|[{_SURNAMES}])(?:{_TITLES}|{_SHORT_TITLES}|姐(?!妹)|哥(?!们))"
)
_ENGLISH_ROLE_RE = re.compile(
    r"(?<![A-Za-z])(?:C[TEFOIM]O|VP(?:\s+of\s+[A-Z]?\w+)?|(?:head|director)\s+of\s+\w+"
    r"|(?:procurement|purchasing|IT|technical|tech|project|sales|product|finance)\s+"
    r"(?:lead|manager|director|head|officer)|(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+[A-Z][a-z]+)(?![A-Za-z])",
    re.IGNORECASE,
)
_CHINESE_ROLE_RE = re.compile(
    r"(?:[\u4e00-\u9fff]{2}[科部处室])?(?:技术负责人|项目负责人|负责人|采购专员|采购经理|采购总监"
    r"|技术总监|财务总监|总经理|主任|院长|老板"
    # 采购数量 is not a person; 采购说 is.
    r"|(?:采购|财务|法务)(?=说|表示|要求|反馈|同意|答应|回复|那边|负责|确认了))"
)


def _outside(span: tuple[int, int], avoid: tuple[int, int] | None) -> bool:
    return avoid is None or span[1] <= avoid[0] or span[0] >= avoid[1]


def find_contact(text: str, *, avoid: tuple[int, int] | None = None) -> Found[str] | None:
    """The first person named (outside `avoid`, the customer's name); a role when none is."""
    for pattern, confidence in (
        (_PERSON_RE, 1.0),
        (_ENGLISH_ROLE_RE, 0.9),
        (_CHINESE_ROLE_RE, 0.8),
    ):
        for match in pattern.finditer(text):
            if _outside(match.span(), avoid):
                return Found(match.group(), match.span(), confidence)
    return None
