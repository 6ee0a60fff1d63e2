"""Callback crypto: WeCom's known-answer vectors, our test client's envelopes, every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.wecom.crypto import CallbackCrypto, Rejected, Signed, read_envelope, sign
from config.settings import ConfigError
from tests.fakes.wecom_client import WeComCallbacks
from tests.wecom.support import AES_KEY, AGENT_ID, CORP_ID, TOKEN

# WeCom's sample code (reference §9): token, EncodingAESKey, corp id and two real callbacks.
KAT_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
KAT_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
KAT_CORP_ID = "ww1436e0e65a779aee"
KAT_ECHOSTR = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)
KAT_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGz"
    "BhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3J"
    "WcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQH"
    "E7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYu"
    "PDGOCI8jmnKiypE+"
)
NOW = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)


def kat_crypto() -> CallbackCrypto:
    return CallbackCrypto(
        token=KAT_TOKEN, encoding_aes_key=KAT_AES_KEY, corp_id=KAT_CORP_ID, window_s=300
    )


def our_crypto(*, corp_id: str = CORP_ID) -> CallbackCrypto:
    return CallbackCrypto(token=TOKEN, encoding_aes_key=AES_KEY, corp_id=corp_id, window_s=300)


def sender() -> WeComCallbacks:
    return WeComCallbacks(
        token=TOKEN, encoding_aes_key=AES_KEY, corp_id=CORP_ID, agent_id=AGENT_ID, now=lambda: NOW
    )


def test_wecoms_url_check_vector_decrypts_to_its_echo() -> None:
    signed = Signed("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683")
    at = datetime.fromtimestamp(1476416373, UTC)
    assert kat_crypto().verify_url(signed, KAT_ECHOSTR, now=at) == "1288432023552776189"


def test_wecoms_message_vector_decrypts_to_chen_jiashuns_text() -> None:
    signed = Signed("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914")
    body = (
        f"<xml><ToUserName><![CDATA[{KAT_CORP_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{KAT_ENCRYPT}]]></Encrypt></xml>"
    )
    xml = kat_crypto().open(body.encode(), signed, now=datetime.fromtimestamp(1476422779, UTC))
    assert xml == (
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
        "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
        "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    )


def test_signature_is_sha1_of_the_sorted_fields() -> None:
    signature = sign(KAT_TOKEN, "1476416373", "47744683", KAT_ECHOSTR)
    assert signature == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"


def test_our_test_clients_envelope_opens_to_the_same_xml() -> None:
    xml = sender().text("wanglei", "跟进 启明 电话确认了试用安排", msg_id=7001)
    callback = sender().post(xml)
    signed = Signed.from_query(callback.params)
    assert our_crypto().open(callback.body, signed, now=NOW) == xml


def test_a_tampered_signature_is_refused_with_401() -> None:
    callback = sender().post("<xml/>", signature="0" * 40)
    with pytest.raises(Rejected) as refused:
        our_crypto().open(callback.body, Signed.from_query(callback.params), now=NOW)
    assert (refused.value.status, refused.value.reason) == (401, "bad_signature")


def test_a_timestamp_outside_the_window_is_refused_with_401() -> None:
    callback = sender().post("<xml/>")
    late = NOW + timedelta(seconds=301)
    with pytest.raises(Rejected) as refused:
        our_crypto().open(callback.body, Signed.from_query(callback.params), now=late)
    assert (refused.value.status, refused.value.reason) == (401, "stale_timestamp")


def test_a_message_for_another_corp_is_refused_with_401() -> None:
    callback = sender().post("<xml/>", receive_id="wwsomeoneelse000001")
    with pytest.raises(Rejected) as refused:
        our_crypto().open(callback.body, Signed.from_query(callback.params), now=NOW)
    assert (refused.value.status, refused.value.reason) == (401, "wrong_corp_id")


@pytest.mark.parametrize("encrypt", ["not base64 at all!", "QUJD", "A" * 43 + "="])
def test_signed_garbage_ciphertext_is_refused_with_400(encrypt: str) -> None:
    client = sender()
    params = client.signed(encrypt)
    with pytest.raises(Rejected) as refused:
        our_crypto().open(client.envelope(encrypt), Signed.from_query(params), now=NOW)
    assert (refused.value.status, refused.value.reason) == (400, "undecryptable")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>', "doctype"),
        (b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml/>', "doctype"),
        (b"<xml><Encrypt>abc</Encrypt>", "malformed"),
        (b"<xml><ToUserName>x</ToUserName></xml>", "malformed"),
        (b"", "malformed"),
    ],
)
def test_bad_envelopes_are_refused_before_any_decryption(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as refused:
        read_envelope(body)
    assert (refused.value.status, refused.value.reason) == (400, reason)


def test_an_encoding_aes_key_of_the_wrong_length_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SALESBOT_WECOM_AES_KEY"):
        CallbackCrypto(token=TOKEN, encoding_aes_key=AES_KEY[:-1], corp_id=CORP_ID, window_s=300)
