"""The integration's own brand images, as the HA frontend fetches them (DESIGN 2).

Since HA 2026.3 a custom integration ships `brand/` and hass serves it at
/api/brands/integration/<domain>/<image>; older HA (our minimum, 2025.4) has no such
endpoint and shows the generic custom-integration icon instead.
"""

from __future__ import annotations

import pytest

from scripts.devstack import INTEGRATION_DIR, HassClient

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

BRAND_DIR = INTEGRATION_DIR / "brand"
IMAGES = sorted(path.name for path in BRAND_DIR.glob("*.png"))


def ha_version(config: dict[str, object]) -> tuple[int, int]:
    major, minor = str(config["version"]).split(".")[:2]
    return int(major), int(minor)


async def test_hass_serves_our_brand_images(hass_api: HassClient) -> None:
    assert {"icon.png", "icon@2x.png", "logo.png", "dark_icon.png", "dark_logo.png"} <= set(IMAGES)
    serves_brands = ha_version(await hass_api.rest_get("/api/config")) >= (2026, 3)
    for image in IMAGES:
        status, body = await hass_api.get_bytes(
            f"/api/brands/integration/frigate_rules/{image}?placeholder=no"
        )
        if serves_brands:
            assert status == 200, image
            assert body == (BRAND_DIR / image).read_bytes(), image
        else:
            assert status == 404, f"{image}: HA before 2026.3 has no brands endpoint"
