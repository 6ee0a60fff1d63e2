"""DingTalk signatures: the callback check and the custom robot's URL sign."""

from __future__ import annotations

from urllib.parse import parse_qs

from bot.dingtalk.signing import check_callback, robot_webhook_query, sign

NOW_MS = 1772706600000


def test_the_sign_matches_the_reference_vector() -> None:
    assert sign("1577262236757", "s3cret") == "kGWPWdO4pPKPAetp88vRam+L8XaXGZ3P24GG1vV6n1c="


def test_a_fresh_correct_signature_passes() -> None:
    ts = str(NOW_MS - 1000)
    assert check_callback(ts, sign(ts, "app-secret"), secret="app-secret", now_ms=NOW_MS) is None


def test_a_signature_made_with_another_secret_is_refused() -> None:
    ts = str(NOW_MS)
    problem = check_callback(ts, sign(ts, "other"), secret="app-secret", now_ms=NOW_MS)
    assert problem == "bad_signature"


def test_a_timestamp_older_than_an_hour_is_refused_even_with_a_good_sign() -> None:
    ts = str(NOW_MS - 3_600_001)
    problem = check_callback(ts, sign(ts, "app-secret"), secret="app-secret", now_ms=NOW_MS)
    assert problem == "stale_timestamp"


def test_missing_headers_and_a_non_numeric_timestamp_are_refused() -> None:
    assert check_callback(None, "x", secret="s", now_ms=NOW_MS) == "missing_signature"
    assert check_callback("abc", "x", secret="s", now_ms=NOW_MS) == "bad_timestamp"


def test_the_custom_robot_query_survives_url_decoding_with_its_plus_signs_intact() -> None:
    # This timestamp/secret pair gives a sign with "+" and "/" in it.
    query = parse_qs(robot_webhook_query(1577262236757, "s3cret"))
    assert query == {
        "timestamp": ["1577262236757"],
        "sign": ["kGWPWdO4pPKPAetp88vRam+L8XaXGZ3P24GG1vV6n1c="],
    }
