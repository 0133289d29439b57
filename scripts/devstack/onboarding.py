"""Onboarding and login, as the browser does them.

Part of the dev stack (scripts/devstack/__init__.py).
"""

from __future__ import annotations

import time

from .client import HassApiError, HassClient


def client_id(base_url: str) -> str:
    """The OAuth client id the frontend uses: the instance's own URL."""
    return base_url + "/"


async def onboard(client: HassClient, name: str, username: str, password: str) -> str:
    """Do every onboarding step the browser does; returns a long-lived access token.

    The user step answers with an auth code, exchanged at /auth/token for an access
    token; the other steps need that token. The long-lived token outlives the 30 min
    of an access token, for long test sessions.
    """
    cid = client_id(client.base_url)
    user = await client.rest_post(
        "/api/onboarding/users",
        {
            "client_id": cid,
            "name": name,
            "username": username,
            "password": password,
            "language": "en",
        },
    )
    tokens = await client.post_form(
        "/auth/token",
        {"grant_type": "authorization_code", "code": user["auth_code"], "client_id": cid},
    )
    client.token = tokens["access_token"]
    await client.rest_post("/api/onboarding/core_config")
    await client.rest_post("/api/onboarding/analytics")
    await client.rest_post(
        "/api/onboarding/integration", {"client_id": cid, "redirect_uri": f"{cid}?auth_callback=1"}
    )
    steps = await client.rest_get("/api/onboarding")
    if not all(step["done"] for step in steps):
        raise HassApiError(f"onboarding not finished: {steps}")
    async with client.websocket() as ws:
        token = await ws.command(
            "auth/long_lived_access_token",
            client_name=f"frigate_rules harness {time.time_ns()}",
            lifespan=30,
        )
    client.token = str(token)
    return client.token


async def is_onboarded(client: HassClient) -> bool:
    """Whether the user step of onboarding is done (a user exists)."""
    steps = await client.rest_get("/api/onboarding")
    return any(step["step"] == "user" and step["done"] for step in steps)


async def login(client: HassClient, username: str, password: str) -> str:
    """Log in through the login flow like the login page does; an access token."""
    cid = client_id(client.base_url)
    flow = await client.rest_post(
        "/auth/login_flow",
        {"client_id": cid, "handler": ["homeassistant", None], "redirect_uri": cid},
    )
    result = await client.rest_post(
        f"/auth/login_flow/{flow['flow_id']}",
        {"client_id": cid, "username": username, "password": password},
    )
    if result.get("type") != "create_entry":
        raise HassApiError(f"login failed: {result}")
    tokens = await client.post_form(
        "/auth/token",
        {"grant_type": "authorization_code", "code": result["result"], "client_id": cid},
    )
    client.token = str(tokens["access_token"])
    return client.token
