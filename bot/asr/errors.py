"""ASR errors: audio we can explain to the sender, and an engine that is off or broken."""


class AudioError(Exception):
    """Audio the sender can fix: empty, corrupt, too long, or too hard to recognise in time."""

    def __init__(self, problem: str, reason: str = "corrupt", detail: str = "") -> None:
        super().__init__(problem, reason, detail)
        self.problem = problem  # Chinese, shown to the sender
        self.reason = reason  # empty | corrupt | too_long | timeout: for logs and metrics
        self.detail = detail  # technical cause, for logs only

    def __str__(self) -> str:
        return f"{self.reason}: {self.problem}" + (f" ({self.detail})" if self.detail else "")


class AsrUnavailable(Exception):
    """Speech recognition is switched off or cannot run; `problem` is the sender's answer.

    `transient`: a server or worker failure that may pass (the voice job is tried again later);
    False when waiting cannot help (recognition is off, the model is broken): answer at once.
    """

    def __init__(
        self,
        message: str,
        problem: str = "语音识别暂时不可用，请直接发送文字。",
        *,
        transient: bool = True,
    ) -> None:
        super().__init__(message, problem)
        self.message = message  # for operators and logs
        self.problem = problem  # Chinese, shown to the sender
        self.transient = transient

    def __str__(self) -> str:
        return self.message


class ModelError(AsrUnavailable):
    """The speech model is missing or broken: raised at start-up, naming what to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)

    def __reduce__(self) -> tuple[type["ModelError"], tuple[str]]:
        return (type(self), (self.message,))
