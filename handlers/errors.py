"""User errors: input we can explain, answered in chat with what was expected and an example."""

from __future__ import annotations

from handlers.chat import Reply


class UserError(Exception):
    """Input we can explain. Not a bug: answered in chat, logged at info."""

    def __init__(self, problem: str, *, example: str = "") -> None:
        super().__init__(problem)
        self.problem, self.example = problem, example

    def to_reply(self) -> Reply:
        if self.example:
            return Reply(f"{self.problem}。请这样写：{self.example}")
        return Reply(self.problem)


class UnknownCustomer(UserError):
    def __init__(self, name: str, guesses: list[str], *, example: str) -> None:
        hint = f"（是不是「{'」「'.join(guesses)}」？）" if guesses else ""
        super().__init__(f"没找到客户「{name}」{hint}", example=example)


class AmbiguousCustomer(UserError):
    def __init__(self, name: str, candidates: list[str], *, example: str) -> None:
        listed = "」「".join(candidates)
        super().__init__(f"「{name}」对应多个客户：「{listed}」，请写全称", example=example)


class NotAllowed(UserError):
    """A permission refusal; the router audits it."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)


class NotRegistered(UserError):
    def __init__(self) -> None:
        super().__init__(
            "你还没有在 salesbot 登记，暂时不能使用。请联系销售主管或系统管理员把你加入团队"
            "（salesbot import users）"
        )


class AuditedRefusal(UserError):
    """A refusal worth an audit row (a duplicate customer): the router writes it after the
    command's own writes are rolled back."""

    def __init__(
        self,
        problem: str,
        *,
        example: str,
        action: str,
        entity: str,
        entity_id: int | None,
        note: str,
    ) -> None:
        super().__init__(problem, example=example)
        self.action, self.entity, self.entity_id, self.note = action, entity, entity_id, note
