"""A bad rules file is refused with a message naming the file, the key and what was expected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.rules import RulesError, load_rules

SALESBOT = Path(sys.executable).parent / "salesbot"

GOOD_STAGES = """\
stages:
  - {name: 线索, stall_days: 7}
  - {name: 意向, stall_days: 7}
  - {name: 成交, terminal: true}
  - {name: 丢单, terminal: true}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_rules_load() -> None:
    rules = load_rules()
    assert rules.stage_names == ("线索", "意向", "方案", "谈判", "成交", "丢单")


def test_a_wrong_type_names_the_file_the_key_and_the_expected_type(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_STAGES + "lead_touch_hours: 一天\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "lead_touch_hours" in message
    assert "integer" in message
    assert "一天" in message


def test_a_wrong_type_inside_a_stage_names_the_stage_and_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "stages:\n  - {name: 线索, stall_days: 很久}\n  - {name: 丢单}\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "stages.0.stall_days" in message
    assert "integer" in message


def test_an_unknown_key_is_named_as_not_permitted(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_STAGES + "stall_dayz: 5\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "stall_dayz" in message
    assert "not permitted" in message


def test_a_missing_stage_list_says_the_stages_are_required(tmp_path: Path) -> None:
    path = write(tmp_path, "lead_touch_hours: 24\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "stages" in message
    assert "required" in message


def test_invalid_yaml_names_the_file_and_says_it_is_not_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "stages: [线索, 意向\nlead_touch_hours: : 24\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "not valid YAML" in message


def test_a_file_that_is_not_a_mapping_says_a_mapping_was_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "- 线索\n- 意向\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(path) in str(caught.value)
    assert "mapping" in str(caught.value)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(path) in str(caught.value)
    assert "cannot read" in str(caught.value)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESBOT_")}
    env["SALESBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    env.update(extra)
    return env


def test_startup_with_a_bad_rules_file_exits_with_the_message_and_no_traceback(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, GOOD_STAGES + "lead_touch_hours: 一天\n")
    result = subprocess.run(
        [str(SALESBOT), "shell", "--as", "王磊"],
        input="帮助\n",
        capture_output=True,
        text=True,
        env=clean_env(tmp_path, SALESBOT_RULES_FILE=str(path)),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode != 0
    assert str(path) in result.stderr
    assert "lead_touch_hours" in result.stderr
    assert "integer" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_startup_with_invalid_yaml_exits_with_the_message_and_no_traceback(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "stages: [线索, 意向\n")
    result = subprocess.run(
        [str(SALESBOT), "db", "upgrade"],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path, SALESBOT_RULES_FILE=str(path)),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode != 0
    assert str(path) in result.stderr
    assert "not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
