"""Fixtures for every component test."""

import urllib.parse
import urllib.request

import pytest

_REAL_URLOPEN = urllib.request.urlopen


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Only file:// URLs may be opened; tests that need http install a fake."""
    def guarded(url, *args, **kwargs):
        target = url if isinstance(url, str) else url.full_url
        if urllib.parse.urlsplit(target).scheme != "file":
            raise AssertionError(f"test tried to reach the network: {target}")
        return _REAL_URLOPEN(url, *args, **kwargs)
    monkeypatch.setattr(urllib.request, "urlopen", guarded)
