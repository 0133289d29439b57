"""End-to-end tests: real Mosquitto and a real hass process (see conftest.py)."""
