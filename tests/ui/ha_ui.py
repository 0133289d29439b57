"""What a person does in Home Assistant's frontend, as Playwright steps.

Locators go by role, label and visible text (the frontend's shadow DOM is open to
them); each step waits for what it needs instead of sleeping.
"""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect

ADD_CUSTOM = "Add custom item"


async def open_integration(page: Page, name: str) -> None:
    """Settings -> Devices & services -> the integration's card, by clicking.

    The card is found by its heading: a dashboard of the same name is a sidebar link.
    """
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("link", name="Devices & services").click()
    await page.get_by_role("heading", name=name, exact=True).click()
    await expect(page.get_by_role("link", name="Back")).to_have_attribute(
        "href", "/config/integrations/dashboard"
    )


async def pick(page: Page, field: str, value: str, offered_as: str | None = None) -> None:
    """In a multiple-choice field: open its picker, type `value`, take the offer.

    `offered_as` is how the picker lists the value (None: not offered, so it is
    added as a custom item, as a person types a name Frigate has not reported yet).
    """
    await page.get_by_role("button", name=field, exact=True).click()
    await page.get_by_placeholder(f"Search | {ADD_CUSTOM}").fill(value)
    await page.get_by_text(offered_as or ADD_CUSTOM, exact=True).click()
    await expect(page.get_by_role("button", name=f"Remove {value}")).to_be_visible()


async def submit(page: Page) -> None:
    """Press the flow dialog's Submit button."""
    await page.get_by_role("button", name="Submit").click()


async def type_into(field: Locator, text: str) -> None:
    """Type into a text field key by key and leave it, as a person does.

    Some of the frontend's fields take their value when they lose focus.
    """
    await field.click()
    await field.press_sequentially(text)
    await field.press("Tab")
    await expect(field).to_have_value(text)


async def settled(page: Page) -> None:
    """Until no animation or transition runs in the page (for a screenshot of the result)."""
    await page.wait_for_function("document.getAnimations().length === 0")
