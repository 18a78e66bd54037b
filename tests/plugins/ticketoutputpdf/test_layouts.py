"""Ticket layouts through the API and what they make of tickets: elements, fonts, codes, backgrounds, pages,
choice per product and sales channel, the default layout, previews and validation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pdftools import background_pdf, barcodes, page_sizes_mm, page_texts, qr_codes
from pdftools import reader as reader_of
from sqlalchemy import select
from ticketapi import EVENT, place, upload

from boxoffice.kernel.models import LogEntry

LAYOUTS = EVENT + "ticketlayouts/"


def text(content: str, bottom: float, **extra: Any) -> dict[str, Any]:
    return {"type": "textarea", "content": content, "left": 10, "bottom": bottom, "width": 120, "fontsize": 11, **extra}


def path_of(url: str) -> str:
    return urlsplit(url).path


def create(api, **body: Any) -> dict[str, Any]:
    response = api.post(LAYOUTS, {"name": "Layout", **body})
    assert response.status_code == 201, response.text
    return response.json()


def position_pdf(api, position: dict[str, Any]) -> bytes:
    response = api.get(f"{EVENT}orderpositions/{position['id']}/download/pdf/")
    assert response.status_code == 200, response.text
    return response.content


def test_layout_crud_round_trip_and_audit_log(api):
    empty = api.get(LAYOUTS).json()
    assert empty == {"count": 0, "next": None, "previous": None, "results": []}
    created = create(api, layout=[text("attendee_name", 50)])
    assert created["default"] is True, "the first layout of an event becomes its default"
    assert created["background"] is None
    assert created["item_assignments"] == []
    assert api.get(f"{LAYOUTS}{created['id']}/").json() == created
    second = create(api, name="VIP", default=True)
    assert api.get(f"{LAYOUTS}{created['id']}/").json()["default"] is False
    patched = api.patch(f"{LAYOUTS}{second['id']}/", {"name": "VIP lounge"}).json()
    assert patched["name"] == "VIP lounge" and patched["default"] is True
    replaced = api.put(f"{LAYOUTS}{created['id']}/", {"name": "Plain"}).json()
    assert replaced["layout"] == []
    assert api.delete(f"{LAYOUTS}{second['id']}/").status_code == 204
    assert api.get(f"{LAYOUTS}{second['id']}/").status_code == 404
    assert api.get(f"{LAYOUTS}{created['id']}/").json()["default"] is True, "another layout became the default"
    with api.kernel.db.session() as session:
        actions = sorted(session.scalars(select(LogEntry.action_type).where(LogEntry.action_type.like("%layout%"))))
    assert "boxoffice.ticketoutputpdf.layout.added" in actions
    assert "boxoffice.ticketoutputpdf.layout.changed" in actions
    assert "boxoffice.ticketoutputpdf.layout.deleted" in actions


def test_invalid_layouts_are_400s_naming_the_field(api):
    bad = api.post(LAYOUTS, {"name": "Broken", "layout": [{"type": "textarea", "left": "far left"}]})
    assert bad.status_code == 400
    assert bad.json()["layout"] == ["Element 1: left must be a number."]
    assert api.post(LAYOUTS, {"name": "Broken", "layout": {"type": "textarea"}}).json()["layout"] == [
        "Expected a list of layout elements."
    ]
    assert "name" in api.post(LAYOUTS, {"layout": []}).json()
    assert "background" in api.post(LAYOUTS, {"name": "x", "background": "file:nope"}).json()
    not_pdf = upload(api, b"\x89PNG\r\n\x1a\n", "image/png", "a.png")
    assert api.post(LAYOUTS, {"name": "x", "background": not_pdf}).json() == {
        "background": ["The background must be a PDF file."]
    }
    assert "item_assignments" in api.post(LAYOUTS, {"name": "x", "item_assignments": [{"item": 999999}]}).json()
    assert api.post(LAYOUTS, {"name": "x", "layout": [], "default": "yes"}).status_code == 400
    writer_less = api.make_token(event_permissions=("event.orders:read",))
    assert api.post(LAYOUTS, {"name": "x"}, token=writer_less).status_code == 403
    assert api.get(LAYOUTS, token=writer_less).status_code == 200


def test_layout_elements_are_drawn_with_placeholders_codes_and_background(api):
    background = upload(api, background_pdf(148, 105, label="BACKDROP"))
    layout = create(
        api,
        background=background,
        layout=[
            text("other", 80, text="Hello {attendee_name} - {event_name}", fontfamily="DejaVu Serif", bold=True),
            text("order", 70, align="right"),
            text("itemvar", 60, rotation=5, color=[200, 0, 0, 255]),
            text("price", 50, downward=True),
            {"type": "barcodearea", "content": "secret", "left": 100, "bottom": 50, "size": 40},
            {"type": "barcodearea", "content": "other", "text": "{order}", "barcode": "code128", "left": 40,
             "bottom": 8, "size": 60, "height": 12},
            {"type": "poweredby", "left": 0, "bottom": 0, "size": 10},
        ],
    )  # fmt: skip
    assert layout["background"].endswith(".pdf")
    fetched = api.client.get(path_of(layout["background"]))
    assert fetched.status_code == 200 and fetched.content.startswith(b"%PDF")
    order = place(api, ("Zoë Ørsted",))
    content = position_pdf(api, order["positions"][0])
    assert page_sizes_mm(content) == [(148, 105)]
    (page,) = page_texts(content)
    assert "BACKDROP 1" in page, "the background is drawn under the elements"
    assert "Hello Zoë Ørsted - DemoCon" in page
    assert order["code"] in page and "Ticket" in page and "35.00" in page
    assert qr_codes(content) == [order["positions"][0]["secret"]]
    assert ("Code 128", order["code"]) in barcodes(content)


def test_multi_page_layouts_and_multi_page_backgrounds(api):
    create(
        api,
        background=upload(api, background_pdf(100, 150, pages=2, label="SHEET")),
        layout=[text("attendee_name", 100), text("other", 100, text="Back of {attendee_name}", page=3)],
    )
    order = place(api, ("Ada Lovelace", "Alan Turing"))
    merged = api.get(f"{EVENT}orders/{order['code']}/download/pdf/").content
    texts = page_texts(merged)
    assert len(texts) == 6, "three pages per ticket: two background pages and the page the last element asks for"
    assert "SHEET 1" in texts[0] and "Ada Lovelace" in texts[0]
    assert "SHEET 2" in texts[1]
    assert "Back of Ada Lovelace" in texts[2]
    assert "Alan Turing" in texts[3]
    assert page_sizes_mm(merged)[0] == (100, 150)


def test_layout_is_chosen_per_product_and_sales_channel(api):
    items = api.get(EVENT + "items/").json()["results"]
    vip = api.post(EVENT + "items/", {"name": {"en": "VIP"}, "default_price": "99.00"}).json()
    api.post(EVENT + "quotas/", {"name": "VIP", "size": 10, "items": [vip["id"]], "variations": []})
    channel = api.post(
        "/api/v1/organizers/demo/saleschannels/",
        {"identifier": "api.boxoffice", "label": {"en": "Box office"}, "type": "api"},
    ).json()["identifier"]
    create(api, name="Standard", default=True, layout=[text("other", 200, text="STANDARD {attendee_name}")])
    special = create(
        api,
        name="VIP",
        layout=[text("other", 200, text="VIP {attendee_name}")],
        item_assignments=[{"item": vip["id"], "sales_channel": "web"}],
    )
    desk = create(
        api,
        name="Desk",
        layout=[text("other", 200, text="DESK {attendee_name}")],
        item_assignments=[{"item": vip["id"], "sales_channel": channel}],
    )
    assignments = api.get(EVENT + "ticketlayoutitems/").json()["results"]
    assert {(a["layout"], a["item"], a["sales_channel"]) for a in assignments} == {
        (special["id"], vip["id"], "web"),
        (desk["id"], vip["id"], channel),
    }
    standard = place(api, ("Plain Ticket",), item=items[0]["id"])
    assert "STANDARD Plain Ticket" in page_texts(position_pdf(api, standard["positions"][0]))[0]
    web_vip = place(api, ("Web Vip",), item=vip["id"])
    assert "VIP Web Vip" in page_texts(position_pdf(api, web_vip["positions"][0]))[0]
    desk_vip = place(api, ("Desk Vip",), item=vip["id"], sales_channel=channel)
    assert "DESK Desk Vip" in page_texts(position_pdf(api, desk_vip["positions"][0]))[0]
    # Assigning the product elsewhere takes it from the layout that had it, and the cached file is renewed.
    api.patch(f"{LAYOUTS}{desk['id']}/", {"item_assignments": [{"item": vip["id"], "sales_channel": "web"}]})
    assert api.get(f"{LAYOUTS}{special['id']}/").json()["item_assignments"] == []
    assert "DESK Web Vip" in page_texts(position_pdf(api, web_vip["positions"][0]))[0]


def test_without_layouts_the_built_in_ticket_is_used(api):
    order = place(api, ("Ada Lovelace",))
    content = position_pdf(api, order["positions"][0])
    assert page_sizes_mm(content) == [(210, 297)]
    assert "Ada Lovelace" in page_texts(content)[0]


def test_preview_shows_sample_values(api):
    layout = create(api, layout=[text("other", 100, text="{attendee_name} / {event_name}")])
    response = api.post(f"{LAYOUTS}{layout['id']}/preview/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert "John Doe / DemoCon" in page_texts(response.content)[0]


def test_layouts_of_other_events_are_invisible(api):
    layout = create(api)
    other = "/api/v1/organizers/demo/events/other/"
    assert api.patch(other, {"plugins": ["ticketoutputpdf"]}).status_code == 200
    assert api.get(f"{other}ticketlayouts/{layout['id']}/").status_code == 404
    assert api.get("/api/v1/organizers/rival/events/rivalcon/ticketlayouts/").status_code == 404


def test_image_areas_show_the_product_picture(api):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(buffer, format="PNG")
    item = api.get(EVENT + "items/").json()["results"][0]["id"]
    picture = upload(api, buffer.getvalue(), "image/png", "product.png")
    assert api.patch(f"{EVENT}items/{item}/", {"picture": picture}).status_code == 200
    create(api, layout=[{"type": "imagearea", "content": "item_picture", "left": 10, "bottom": 10, "width": 40,
                         "height": 40}])  # fmt: skip
    order = place(api, ("Ada Lovelace",))
    page = reader_of(position_pdf(api, order["positions"][0])).pages[0]
    images = list(page.images)
    assert len(images) == 1
    assert images[0].image.size == (40, 20)
    assert images[0].image.convert("RGB").getpixel((5, 5)) == (200, 30, 30)


def test_cloned_events_get_the_layouts_with_their_backgrounds_and_assignments(api):
    item = api.get(EVENT + "items/").json()["results"][0]["id"]
    create(
        api,
        name="Cloned",
        background=upload(api, background_pdf(100, 100)),
        layout=[text("attendee_name", 50)],
        item_assignments=[{"item": item, "sales_channel": "web"}],
    )
    cloned = api.post(EVENT + "clone/", {"slug": "democon2", "date_from": "2032-05-01T09:00:00Z"})
    assert cloned.status_code == 201, cloned.text
    assert "ticketoutputpdf" in cloned.json()["plugins"]
    copy_event = "/api/v1/organizers/demo/events/democon2/"
    (layout,) = api.get(copy_event + "ticketlayouts/").json()["results"]
    copied_item = api.get(copy_event + "items/").json()["results"][0]["id"]
    assert layout["name"] == "Cloned" and layout["default"] is True
    assert layout["item_assignments"] == [{"sales_channel": "web", "item": copied_item}]
    assert copied_item != item
    assert "/events/democon2/ticketlayouts/" in layout["background"]
    assert api.client.get(path_of(layout["background"])).content.startswith(b"%PDF")


def test_backgrounds_with_embedded_fonts_images_and_several_content_streams():
    """A background made elsewhere: its own TrueType font, an image, its content split into two streams."""
    import io

    import pypdfium2
    from PIL import Image
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, NameObject
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen.canvas import Canvas

    from boxoffice.plugins.ticketoutputpdf.rendering import (
        FONT_DIR,
        LayoutDrawer,
        TicketData,
        background_digest,
        load_background,
        new_canvas,
    )

    pdfmetrics.registerFont(TTFont("BackgroundSerif", str(FONT_DIR / "DejaVuSerif.ttf")))
    drawn = io.BytesIO()
    canvas = Canvas(drawn, pagesize=(400, 300))
    canvas.setFont("BackgroundSerif", 14)
    canvas.drawString(20, 260, "Hintergrund Ärger Ωmega")
    picture = io.BytesIO()
    Image.new("RGB", (30, 30), (0, 120, 250)).save(picture, "PNG")
    canvas.drawImage(ImageReader(io.BytesIO(picture.getvalue())), 300, 200, 60, 60)
    canvas.showPage()
    canvas.save()
    writer = PdfWriter(clone_from=io.BytesIO(drawn.getvalue()))
    extra = DecodedStreamObject()
    extra.set_data(b"q 0 0 1 rg 10 10 50 50 re f Q")
    page = writer.pages[0]
    page[NameObject("/Contents")] = ArrayObject([page["/Contents"], writer._add_object(extra)])
    rewritten = io.BytesIO()
    writer.write(rewritten)
    content = rewritten.getvalue()

    background = load_background(background_digest(content), lambda: content)
    element = {"type": "textarea", "content": "other", "text": "Ticket für Zoë", "left": 10, "bottom": 50, "width": 90}
    drawer = LayoutDrawer([element], background)
    result = io.BytesIO()
    document = new_canvas(result)
    bridges: dict = {}
    for _ in range(2):
        drawer.draw(document, TicketData(secret="x", text=lambda template: template), bridges)
    document.save()
    assert page_texts(result.getvalue()) == ["Hintergrund Ärger Ωmega\nTicket für Zoë\n"] * 2
    rendered = pypdfium2.PdfDocument(result.getvalue())
    try:
        image = rendered[1].render(scale=1).to_pil().convert("RGB")
    finally:
        rendered.close()
    assert image.getpixel((330, 70)) == (0, 120, 250), "the background's image"
    assert image.getpixel((30, 270)) == (0, 0, 255), "the background's second content stream"
