"""Start Home Assistant like the `hass` command, for the demo and the end-to-end tests.

HA 2026.2 declares Python >= 3.13.2 and its `main()` exits at once on the 3.13.0 these
machines have, although it runs fine on it. This launcher replaces only that version
check (`homeassistant.__main__.validate_python`) with a no-op and then runs HA's own
`main()` unchanged, with the command line given to this script. HA 2025.4 passes the
check anyway, so the same launcher serves both.

Usage: python scripts/hass_launch.py -c CONFIG_DIR [any other `hass` option]
"""

from __future__ import annotations

import sys

import homeassistant.__main__ as hass_main


def _accept_this_python() -> None:
    """No-op stand-in for HA's Python version check (see the module docstring)."""


def main() -> int:
    hass_main.validate_python = _accept_this_python
    return hass_main.main()


if __name__ == "__main__":
    sys.exit(main())
