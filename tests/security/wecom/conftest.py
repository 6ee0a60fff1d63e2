"""The WeCom fixtures (fake API, encrypting client, bare-app adapter) for the security cases."""

from tests.wecom.conftest import *  # noqa: F403 - fixtures, found by pytest by name
