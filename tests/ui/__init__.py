"""Browser tests: Debian's chromium, Playwright, real Mosquitto and hass (see conftest.py)."""
