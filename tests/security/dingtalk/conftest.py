"""The DingTalk fixtures (fake API, adapter on a bare app) for the security cases."""

from tests.dingtalk.conftest import *  # noqa: F403 - fixtures, found by pytest by name
