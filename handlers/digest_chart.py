"""The digest chart: process-health rates and each rep's open warnings, PNG with Chinese labels."""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

# Families that cover simplified Chinese, best first. WenQuanYi leads because its collection's
# first face is Chinese; Noto's .ttc opens on its Japanese face (same glyph set, JP shapes).
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Sans CJK SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Droid Sans Fallback",
)
CJK_FILE_HINTS = (
    "notosanscjk",
    "notosanssc",
    "sourcehansans",
    "wqy-microhei",
    "wqy-zenhei",
    "msyh",
    "simhei",
    "droidsansfallback",
)
FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)
TARGET_PERCENT = 80
INSTALL_HINT = "安装中文字体：apt-get install fonts-wqy-microhei（或 fonts-noto-cjk）"


class MissingCjkFont(RuntimeError):
    """No font that renders Chinese: the chart would show boxes instead of characters."""

    def __init__(self) -> None:
        super().__init__(f"no CJK font found for the digest chart; {INSTALL_HINT}")


@dataclass(frozen=True, slots=True)
class Rate:
    label: str  # 线索 24 小时内跟进
    done: int
    total: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.done / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class RepLoad:
    name: str
    red: int  # customers whose worst live warning is red (to the manager) or above
    yellow: int  # customers whose worst live warning is yellow / last chance / a notice
    overdue: int  # overdue commitments


@functools.cache
def find_cjk_font() -> Path:
    """A font file that has Chinese glyphs: matplotlib's known fonts first, then font folders."""
    from matplotlib import font_manager

    entries = sorted(font_manager.fontManager.ttflist, key=lambda f: (f.weight != 400, f.fname))
    for family in CJK_FAMILIES:
        for entry in entries:
            if entry.name == family and entry.style == "normal":
                return Path(entry.fname)
    for folder in FONT_DIRS:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            squashed = path.name.lower().replace("-", "").replace("_", "")
            if path.suffix.lower() in (".ttf", ".ttc", ".otf") and any(
                hint.replace("-", "") in squashed for hint in CJK_FILE_HINTS
            ):
                return path
    raise MissingCjkFont()


def render_chart(title: str, rates: list[Rate], reps: list[RepLoad]) -> bytes:
    """Two panels: the three health rates as bars with x/y, and warnings per rep (stacked)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(find_cjk_font()))
    figure = Figure(figsize=(9, 4.8), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, width_ratios=(1.1, 1))
    figure.suptitle(title, fontproperties=font, fontsize=15)

    shown = [r.percent or 0.0 for r in rates]
    colors = [_rate_color(r.percent) for r in rates]
    bars = left.barh(range(len(rates)), shown, color=colors, height=0.55)
    left.set_xlim(0, 118)
    left.set_yticks(range(len(rates)))
    left.set_yticklabels([r.label for r in rates], fontproperties=font, fontsize=11)
    left.invert_yaxis()
    left.axvline(TARGET_PERCENT, color="#888888", linestyle="--", linewidth=1)
    left.set_title("流程健康度", fontproperties=font, fontsize=12)
    left.set_xlabel(f"百分比（虚线为目标 {TARGET_PERCENT}%）", fontproperties=font, fontsize=9)
    for bar, rate in zip(bars, rates, strict=True):
        text = f"{rate.percent:.0f}% ({rate.done}/{rate.total})" if rate.total else "暂无数据"
        left.text(
            bar.get_width() + 2,
            bar.get_y() + bar.get_height() / 2,
            text,
            va="center",
            fontproperties=font,
            fontsize=10,
        )

    names = [r.name for r in reps] or ["（无）"]
    series = (
        ("红色预警客户", [r.red for r in reps] or [0], "#d64541"),
        ("黄色预警客户", [r.yellow for r in reps] or [0], "#f2b134"),
        ("逾期承诺", [r.overdue for r in reps] or [0], "#6c5ce7"),
    )
    start = [0] * len(names)
    for label, values, color in series:
        right.barh(range(len(names)), values, left=start, color=color, label=label, height=0.55)
        start = [a + b for a, b in zip(start, values, strict=True)]
    right.set_yticks(range(len(names)))
    right.set_yticklabels(names, fontproperties=font, fontsize=11)
    right.invert_yaxis()
    right.set_title("各销售待处理", fontproperties=font, fontsize=12)
    right.set_xlim(0, max([*start, 1]) * 1.45)
    right.xaxis.get_major_locator().set_params(integer=True)
    right.legend(prop=font, loc="lower right", fontsize=9)
    for i, total in enumerate(start):
        right.text(total + 0.1, i, str(total), va="center", fontproperties=font, fontsize=10)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _rate_color(percent: float | None) -> str:
    if percent is None:
        return "#cccccc"
    if percent >= TARGET_PERCENT:
        return "#2e9d5b"
    return "#f2b134" if percent >= 60 else "#d64541"
