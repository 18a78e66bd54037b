"""Helpers of the PDF ticket tests: uploading files and placing paid orders through the API."""

from __future__ import annotations

from typing import Any

EVENT = "/api/v1/organizers/demo/events/democon/"


def upload(api: Any, content: bytes, content_type: str = "application/pdf", name: str = "background.pdf") -> str:
    response = api.client.post(
        "/api/v1/upload",
        content=content,
        headers={
            **api.headers(),
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def place(api: Any, names: tuple[str, ...] = ("Ada Lovelace",), item: int | None = None, **fields: Any) -> dict:
    item = item or api.get(EVENT + "items/").json()["results"][0]["id"]
    body = {
        "email": "buyer@example.org",
        "locale": "en",
        "status": "p",
        "payment_provider": "manual",
        "positions": [
            {"positionid": index, "item": item, "price": "35.00", "attendee_name_parts": {"full_name": name}}
            for index, name in enumerate(names, start=1)
        ],
        **fields,
    }
    response = api.post(EVENT + "orders/", body)
    assert response.status_code == 201, response.text
    return response.json()
