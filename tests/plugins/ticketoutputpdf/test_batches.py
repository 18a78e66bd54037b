"""Rendering many tickets into one PDF: the render_batch endpoint (202, then the download URL), the kernel's batch
job cutting parts and joining them, progress, and the streaming concatenation itself."""

from __future__ import annotations

import io

import pytest
from pdftools import background_pdf, page_sizes_mm, page_texts, qr_codes
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from ticketapi import EVENT, place

from boxoffice.kernel.models import JobRecord
from boxoffice.kernel.pdfs import PdfConcatenator
from boxoffice.plugins.ticketoutputpdf import output

RENDER = EVENT + "ticketpdfrenderer/render_batch/"


def test_render_batch_answers_202_and_the_download_url_serves_the_pdf(api):
    first = place(api, ("Ada Lovelace", "Alan Turing"))
    second = place(api, ("Grace Hopper",))
    api.post(
        EVENT + "ticketlayouts/",
        {"name": "Standard", "layout": [
            {"type": "textarea", "content": "attendee_name", "left": 10, "bottom": 200, "width": 150, "fontsize": 12},
            {"type": "barcodearea", "content": "secret", "left": 100, "bottom": 100, "size": 50},
        ]},
    )  # fmt: skip
    layout = api.post(
        EVENT + "ticketlayouts/",
        {"name": "Badge", "layout": [{"type": "textarea", "content": "other", "text": "BADGE {attendee_name}",
                                      "left": 10, "bottom": 200, "width": 150, "fontsize": 12}]},
    ).json()  # fmt: skip
    ids = [p["id"] for p in first["positions"] + second["positions"]]
    started = api.post(
        RENDER,
        {
            "parts": [
                {"orderposition": ids[2]},
                {"orderposition": ids[0], "override_channel": "web"},
                {"orderposition": ids[1], "override_layout": layout["id"]},
            ]
        },
    )
    assert started.status_code == 202, started.text
    url = started.json()["download"]
    assert "/ticketpdfrenderer/download/" in url
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    done = api.get(path)
    assert done.status_code == 200, done.text
    texts = page_texts(done.content)
    assert len(texts) == 3
    assert "Grace Hopper" in texts[0]
    assert "BADGE Alan Turing" in texts[2]
    assert qr_codes(done.content, page=1) == [first["positions"][0]["secret"]]
    # The URL works only with its token and only in its event.
    assert api.get(path.rstrip("/")[:-4] + "0000/").status_code == 404


def test_render_batch_validates_parts(api):
    assert api.post(RENDER, {"parts": []}).json() == {"parts": ["This list may not be empty."]}
    assert api.post(RENDER, {"parts": [{"orderposition": 999999}]}).json() == {
        "parts": [{"orderposition": ['Invalid pk "999999" - object does not exist.']}]
    }
    order = place(api)
    position = order["positions"][0]["id"]
    assert (
        "override_layout"
        in api.post(RENDER, {"parts": [{"orderposition": position, "override_layout": 77}]}).json()["parts"][0]
    )
    too_many = {"parts": [{"orderposition": position}] * 1001}
    assert "parts" in api.post(RENDER, too_many).json()
    broken = api.client.post(RENDER, content=b"{nope", headers={**api.headers(), "Content-Type": "application/json"})
    assert broken.status_code == 400
    reader_less = api.make_token(event_permissions=("event.vouchers:read",))
    assert api.post(RENDER, {"parts": [{"orderposition": position}]}, token=reader_less).status_code == 403


def test_batch_job_cuts_parts_joins_them_and_reports_progress(api, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(output, "PAGES_PER_PART", 3)
    background = api.client.post(
        "/api/v1/upload",
        content=background_pdf(120, 80),
        headers={
            **api.headers(),
            "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="b.pdf"',
        },
    ).json()["id"]
    api.post(
        EVENT + "ticketlayouts/",
        {"name": "Small", "background": background, "layout": [
            {"type": "textarea", "content": "attendee_name", "left": 10, "bottom": 60, "width": 100, "fontsize": 10},
            {"type": "barcodearea", "content": "secret", "left": 70, "bottom": 15, "size": 45},
        ]},
    )  # fmt: skip
    names = tuple(f"Guest {number}" for number in range(1, 8))
    order = place(api, names)
    parts = [{"orderposition": position["id"]} for position in order["positions"]]
    job_id = api.kernel.jobs.enqueue("tickets.render_batch", event_id=_event_id(api), output="pdf", parts=parts)
    with api.kernel.db.session() as session:
        record = session.get(JobRecord, job_id)
        assert record.status == "done", record.error
        assert record.progress == 100
        assert record.result["size"] > 0
    content = (api.kernel.config.data_dir / "tickets" / "batches" / f"{job_id}.pdf").read_bytes()
    texts = page_texts(content)
    assert len(texts) == 7, "three parts (3 + 3 + 1 pages) joined into one file"
    assert [text.count("Guest") for text in texts] == [1] * 7
    assert "Guest 7" in texts[6] and "BACKDROP 1" in texts[6]
    assert page_sizes_mm(content) == [(120, 80)] * 7
    assert qr_codes(content, page=6) == [order["positions"][6]["secret"]]


def _event_id(api) -> int:
    from boxoffice.kernel.models import Event

    with api.kernel.db.session() as session:
        return session.scalar(select(Event.id).where(Event.slug == "democon"))


def _pdf(pages: list[tuple[str, tuple[float, float]]]) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for label, size in pages:
        canvas.setPageSize(size)
        canvas.setFont("Helvetica", 12)
        canvas.drawString(20, 20, label)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_concatenation_keeps_pages_sizes_and_text():
    target = io.BytesIO()
    with PdfConcatenator(target) as joined:
        assert joined.append(io.BytesIO(_pdf([("one", (300, 400)), ("two", (500, 200))]))) == 2
        assert joined.append(io.BytesIO(_pdf([("three", (300, 400))]))) == 1
        assert joined.page_count == 3
    result = PdfReader(io.BytesIO(target.getvalue()))
    assert [page.extract_text().strip() for page in result.pages] == ["one", "two", "three"]
    assert [(float(p.mediabox.width), float(p.mediabox.height)) for p in result.pages] == [
        (300, 400),
        (500, 200),
        (300, 400),
    ]


def test_concatenation_of_a_file_with_inherited_page_attributes():
    source = io.BytesIO(_pdf([("inherited", (250, 250))]))
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=source)
    page = writer.pages[0]
    # Move the page's size onto the page tree, where pages inherit it from.
    writer._root_object["/Pages"].get_object()[__import__("pypdf").generic.NameObject("/MediaBox")] = page["/MediaBox"]
    del page["/MediaBox"]
    rewritten = io.BytesIO()
    writer.write(rewritten)
    target = io.BytesIO()
    with PdfConcatenator(target) as joined:
        joined.append(io.BytesIO(rewritten.getvalue()))
    (only,) = PdfReader(io.BytesIO(target.getvalue())).pages
    assert (float(only.mediabox.width), float(only.mediabox.height)) == (250, 250)


def test_reportlab_files_are_copied_without_parsing_and_other_files_through_pypdf():
    from pypdf import PdfWriter

    from boxoffice.kernel import pdfs

    plain = _pdf([("plain one", (300, 400)), ("plain two", (300, 400))])
    layout = pdfs._plain_layout(plain)
    assert len(layout.pages) == 2
    # A file pypdf wrote with the page size on the page tree does not qualify: its pages inherit.
    writer = PdfWriter(clone_from=io.BytesIO(_pdf([("inherited", (250, 250))])))
    writer._root_object["/Pages"].get_object()[__import__("pypdf").generic.NameObject("/MediaBox")] = writer.pages[0][
        "/MediaBox"
    ]
    del writer.pages[0]["/MediaBox"]
    inherited = io.BytesIO()
    writer.write(inherited)
    with pytest.raises(pdfs._NotPlain):
        pdfs._plain_layout(inherited.getvalue())
    with pytest.raises(pdfs._NotPlain):
        pdfs._plain_layout(plain[:-200])
    target = io.BytesIO()
    with PdfConcatenator(target) as joined:
        assert joined.append(io.BytesIO(plain)) == 2
        assert joined.append(io.BytesIO(inherited.getvalue())) == 1
        assert joined.append(io.BytesIO(plain)) == 2
    result = PdfReader(io.BytesIO(target.getvalue()), strict=True)
    texts = [page.extract_text().strip() for page in result.pages]
    assert texts == ["plain one", "plain two", "inherited", "plain one", "plain two"]
    assert [float(page.mediabox.width) for page in result.pages] == [300, 300, 250, 300, 300]
    # Every object of the cross-reference table is where it says (strict reading checks each header).
    for number in range(1, int(result.trailer["/Size"])):
        assert result.get_object(number) is not None
