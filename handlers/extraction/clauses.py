"""A note cut into clauses, and what a clause asks for next: the action in it, and whether the
rep (not the customer) promised it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Transcripts often mark a pause with a space between two Chinese words instead of a comma.
_CLAUSE_END_RE = re.compile(
    r"[，。；！？!?;\n]|,(?!\d{3})|\.(?!\d)(?:\s|$)|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])"
)
_PROMISE_RE = re.compile(r"答应|承诺|保证|许诺|应承")
_ENGLISH_PROMISE_RE = re.compile(
    r"\b(?:I|we)\s+(?:have\s+|had\s+|just\s+)?(?:promised|committed|guaranteed|will\s+make\s+sure"
    r"|'ll\s+make\s+sure)\b(?:\s+(?:to|that|them|him|her|the\s+customer))*",
    re.IGNORECASE,
)
_REP_SUBJECT_RE = re.compile(
    r"(?:^|我|我们|我方|本人|咱们|咱)(?:已经|已|也|都|又|再次|当面|口头|亲口)?$"
)
# The first-person forms reps promise in: 我会… / 我们会… / 我说(周三)之前… / 我这边(周五)前给….
_FIRST_PERSON_RE = re.compile(
    r"(?:^|^.{1,12}?(?:那边|这边|方面|的话))(?:那|那么|然后|所以|另外|好的?|行)?(?P<who>我们|我方|咱们|我)(?P<side>这边|那边)?"
    r"(?:也|都|一定|肯定|尽快|马上|争取)?(?P<verb>会(?![议谈面员所场计])|说(?![明服]))?"
)
_PROMISE_TARGET_RE = re.compile(r"^(?:了)?(?:客户|对方|他们|他|她)?(?:会|将|一定|在)?")
# Words that end the lead-in before the action: 采购说月底前走完审批 → 走完审批.
_LEAD_IN_RE = re.compile(
    r"^.*?(?:说(?![明服])|表示|要求|同意|答应|承诺|保证|希望|提出|约了|约好|让我们|让我)了?"
    r"|^.*?\b(?:wants?|wanted|asked\s+for|asks\s+for|requested|needs?|said|will|promised\s+to"
    r"|next\s+step\s+is(?:\s+to)?)\s+",
    re.IGNORECASE,
)
_CONNECTOR_RE = re.compile(
    # what a time expression leaves behind: 本周五|下班前|发过去, 明天|左右|回复
    r"^(?:(?:下班|上班|中午|午饭|晚饭)?(?:前|之前|以前)|左右|然后|并且|并|就|会|将|之后)+"
)
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_EDGE_JUNK = " ，,。.；;:：、的了吧呢啊"
_NEEDS_MORE_RE = re.compile(r"(?:过去|过来|给他们|给他|给她|一下)$")
_NEXT_STEP_CUE_RE = re.compile(
    r"再|要|将|准备|计划|打算|安排|约|下一步|需要|跟进|尽快|回头|\b(?:will|need|plan|follow\s+up)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Clause:
    start: int
    end: int
    text: str


def split_clauses(text: str) -> list[Clause]:
    clauses: list[Clause] = []
    start = 0
    for match in _CLAUSE_END_RE.finditer(text):
        if match.start() > start:
            clauses.append(Clause(start, match.start(), text[start : match.start()]))
        start = match.end()
    if start < len(text):
        clauses.append(Clause(start, len(text), text[start:]))
    return [clause for clause in clauses if clause.text.strip()]


def _blank(clause: Clause, spans: Sequence[tuple[int, int]]) -> str:
    """The clause with the given note spans (time words, customer, contact) taken out."""
    chars = list(clause.text)
    for start, end in spans:
        for i in range(max(start, clause.start), min(end, clause.end)):
            chars[i - clause.start] = "\0"
    return "".join(chars)


def _tidy(text: str) -> str:
    text = re.sub(r"\s*\0+\s*", " ", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", text)
    return text.strip(_EDGE_JUNK)


def promise_in(clause: Clause, time_spans: Sequence[tuple[int, int]]) -> str | None:
    """What the rep promised in this clause (我答应… / 承诺… / I promised…), or None.
    Only time words are taken out first: a customer's name before 答应 makes it their promise."""
    blanked = _blank(clause, time_spans)
    english = _ENGLISH_PROMISE_RE.search(blanked)
    if english:
        return _tidy(blanked[english.end() :]) or None
    for match in _PROMISE_RE.finditer(blanked):
        subject = _tidy(blanked[: match.start()].replace("\0", ""))
        if _REP_SUBJECT_RE.search(subject):
            what = _PROMISE_TARGET_RE.sub("", _tidy(blanked[match.end() :]), count=1)
            return _tidy(what) or None
    return _first_person_promise(blanked, clause.text)


def _first_person_promise(blanked: str, said: str) -> str | None:
    """我会… always; 我说… and 我这边… only with a deadline (周三之前): a promise with a date."""
    match = _FIRST_PERSON_RE.match(blanked)
    if match is None:
        return None
    rest = blanked[match.end() :]
    if match["verb"] != "会":
        if not (match["verb"] == "说" or match["side"] == "这边"):
            return None
        # the deadline: a time said right before 前/之前 (the time words are blanked as \0)
        times = [i for i, char in enumerate(rest) if char == "\0"]
        tail = said[match.end() :]
        if not times or not re.search(r"(?:之前|以前|前)", tail[times[0] :]):
            return None
    what = _tidy(_CONNECTOR_RE.sub("", _tidy(rest)))
    return what if len(what) >= 2 else None


def _without_lead_in(text: str) -> str:
    lead_in = _LEAD_IN_RE.match(text)
    if lead_in and len(text) - lead_in.end() >= 2:
        return _tidy(text[lead_in.end() :])
    return text


def _cleaned(text: str) -> str:
    return _tidy(_CONNECTOR_RE.sub("", _without_lead_in(_tidy(text))))


def action_in(
    clauses: Sequence[Clause],
    index: int,
    spans: Sequence[tuple[int, int]],
    *,
    due_end: int | None = None,
) -> str:
    """The next step a clause states, without its time words, names and lead-in. Chinese puts
    the time before the verb, so what follows the due time is the action when there is any
    (a transcript without commas: …他同意对比报价下周三前给反馈 → 给反馈)."""
    clause = clauses[index]
    blanked = _blank(clause, spans)
    text = ""
    is_chinese = bool(_HAN_RE.search(clause.text))  # English puts the time last: keep it all
    if is_chinese and due_end is not None and clause.start <= due_end <= clause.end:
        text = _cleaned(blanked[due_end - clause.start :])
    if len(text) < 2:
        text = _cleaned(blanked)
    is_thin = len(text) <= 1 or (len(text) <= 4 and bool(_NEEDS_MORE_RE.search(text)))
    if is_thin and index > 0:  # 发过去 / 再打: say what, from the clause before
        before = _without_lead_in(_tidy(_blank(clauses[index - 1], spans)))
        if before:
            text = f"{before}，{text}" if text else before
    return text


def next_step_clause(clauses: Sequence[Clause]) -> int | None:
    """With no date said, the last clause that reads like a next step (再联系, 准备方案)."""
    for index in range(len(clauses) - 1, -1, -1):
        if _NEXT_STEP_CUE_RE.search(clauses[index].text):
            return index
    return None
