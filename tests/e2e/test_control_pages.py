"""The control panel in a real browser, on a phone-sized and a desktop viewport."""

from __future__ import annotations

from playwright.sync_api import expect


def test_log_in_and_out(any_page, site, screenshot, fits_viewport, logged_in):
    any_page.goto("/control/")
    assert "/control/login" in any_page.url
    screenshot(any_page, "control-login")
    any_page.get_by_label("E-mail address").fill(site.admin_email)
    any_page.get_by_label("Password").fill("wrong password")
    any_page.get_by_role("button", name="Log in").click()
    expect(any_page.get_by_role("alert")).to_be_visible()

    logged_in(any_page, site)
    expect(any_page.get_by_role("link", name="DemoCon")).to_be_visible()
    assert fits_viewport(any_page)
    screenshot(any_page, "control-events")
    any_page.get_by_role("link", name="DemoCon").click()
    expect(any_page.get_by_role("heading", name="Quotas")).to_be_visible()
    assert fits_viewport(any_page)
    screenshot(any_page, "control-dashboard-empty")
    any_page.get_by_role("navigation", name="Event").get_by_role("link", name="Orders").click()
    expect(any_page.get_by_role("search")).to_be_visible()
    assert fits_viewport(any_page)
    any_page.get_by_role("navigation", name="Event").get_by_role("link", name="Plugins").click()
    expect(any_page.get_by_role("button", name="Enable Bank transfer")).to_be_visible()
    assert fits_viewport(any_page)
    screenshot(any_page, "control-plugins-list")
    any_page.get_by_role("button", name="Log out").click()
    any_page.wait_for_url("**/control/login")
