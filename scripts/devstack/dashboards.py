"""Dashboards, saved the way the frontend's raw configuration editor saves them.

Part of the dev stack (scripts/devstack/__init__.py): the demo and the browser tests
show docs/dashboard.yaml with it.
"""

from __future__ import annotations

from typing import Any

from .client import HassClient


async def save_dashboard(client: HassClient, url_path: str, config: dict[str, Any]) -> None:
    """A storage-mode dashboard (in the sidebar) at `url_path` with `config`."""
    async with client.websocket() as ws:
        dashboards = await ws.command("lovelace/dashboards/list")
        if not any(item["url_path"] == url_path for item in dashboards):
            await ws.command(
                "lovelace/dashboards/create",
                url_path=url_path,
                title=config.get("title", url_path),
                icon="mdi:view-dashboard",
                show_in_sidebar=True,
                require_admin=False,
                mode="storage",
            )
        await ws.command("lovelace/config/save", url_path=url_path, config=config)
