import re
import uuid
from datetime import timedelta

from sqlalchemy import update

from boxoffice.apps.api.auth import credentials_key
from boxoffice.apps.api.resources import upload as upload_module
from boxoffice.apps.api.resources.upload import MAX_UPLOAD_BYTES, find_upload
from boxoffice.kernel import clock
from boxoffice.kernel.defaults import delete_expired_uploads
from boxoffice.kernel.jobs import JobRunContext
from boxoffice.kernel.models.api_state import UploadedFile

URL = "/api/v1/upload"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _upload(api, content=PNG, token=None, **headers):
    base = {"Content-Type": "image/png", "Content-Disposition": 'attachment; filename="logo.png"'}
    merged = {key: value for key, value in {**base, **headers}.items() if value is not None}
    return api.client.post(URL, content=content, headers={**api.headers(token), **merged})


def test_upload_stores_the_file_for_the_caller(api):
    response = _upload(api)
    assert response.status_code == 201
    file_id = response.json()["id"]
    assert re.fullmatch(r"file:[0-9a-f-]{36}", file_id)
    with api.kernel.db.session() as session:
        stored = session.get(UploadedFile, file_id.removeprefix("file:"))
        assert (stored.filename, stored.content_type, stored.content) == ("logo.png", "image/png", PNG)
        mine = credentials_key(f"Token {api.token}", None)
        assert find_upload(session, file_id, mine) is stored
        # Only the same credentials may use it, and only with the file: prefix and a real id.
        other = credentials_key(f"Token {api.make_token()}", None)
        assert find_upload(session, file_id, other) is None
        assert find_upload(session, file_id.removeprefix("file:"), mine) is None
        assert find_upload(session, "file:not-a-uuid", mine) is None
        assert find_upload(session, f"file:{uuid.uuid4()}", mine) is None


def test_filename_forms(api):
    cases = {
        "attachment; filename=plain.pdf": "plain.pdf",
        'attachment; filename="../../etc/passwd"': "passwd",
        "attachment; filename*=UTF-8''%C3%BCber.png": "über.png",
        'attachment; filename="C:\\\\Users\\\\me\\\\photo.jpg"': "photo.jpg",
    }
    for disposition, expected in cases.items():
        response = _upload(api, **{"Content-Disposition": disposition})
        assert response.status_code == 201, (disposition, response.json())
        with api.kernel.db.session() as session:
            stored = session.get(UploadedFile, response.json()["id"].removeprefix("file:"))
            assert stored.filename == expected, disposition
    long_name = "a" * 300 + ".png"
    response = _upload(api, **{"Content-Disposition": f'attachment; filename="{long_name}"'})
    with api.kernel.db.session() as session:
        stored = session.get(UploadedFile, response.json()["id"].removeprefix("file:"))
        assert len(stored.filename) == 255 and stored.filename.endswith(".png")


def test_required_headers_and_body(api):
    no_disposition = _upload(api, **{"Content-Disposition": None})
    assert no_disposition.status_code == 400 and "Content-Disposition" in no_disposition.json()["detail"]
    no_filename = _upload(api, **{"Content-Disposition": "attachment"})
    assert no_filename.status_code == 400
    traversal_only = _upload(api, **{"Content-Disposition": 'attachment; filename="../"'})
    assert traversal_only.status_code == 400
    no_type = api.client.post(
        URL, content=PNG, headers={**api.headers(), "Content-Disposition": 'attachment; filename="a.png"'}
    )
    assert no_type.status_code == 400 and "Content-Type" in no_type.json()["detail"]
    assert _upload(api, **{"Content-Type": "nonsense"}).status_code == 400
    assert _upload(api, content=b"").json() == {"detail": "The submitted file is empty."}
    with api.kernel.db.session() as session:
        assert session.query(UploadedFile).count() == 0


def test_size_limit(api, monkeypatch):
    monkeypatch.setattr(upload_module, "MAX_UPLOAD_BYTES", 1024)
    assert _upload(api, content=b"x" * 1024).status_code == 201
    too_large = _upload(api, content=b"x" * 1025)
    assert too_large.status_code == 413 and "detail" in too_large.json()

    def chunks():
        for _ in range(3):
            yield b"y" * 512

    # Without Content-Length (chunked) the limit holds while reading.
    streamed = api.client.post(
        URL,
        content=chunks(),
        headers={**api.headers(), "Content-Type": "text/plain", "Content-Disposition": "attachment; filename=a.txt"},
    )
    assert streamed.status_code == 413
    assert MAX_UPLOAD_BYTES == 20 * 1024 * 1024


def test_authentication_comes_first(api):
    response = api.client.post(URL, content=PNG, headers={"Content-Type": "image/png"})
    assert response.status_code == 401
    assert _upload(api, token="wrong").status_code == 401


def test_devices_can_upload(api):
    device = api.post("/api/v1/organizers/demo/devices/", {"name": "POS"}).json()
    init = api.client.post("/api/v1/device/initialize", json={"token": device["initialization_token"]})
    token = init.json()["api_token"]
    response = api.client.post(
        URL,
        content=b"%PDF-1.4",
        headers={
            "Authorization": f"Device {token}",
            "Content-Type": "application/pdf",
            "Content-Disposition": 'attachment; filename="receipt.pdf"',
        },
    )
    assert response.status_code == 201
    with api.kernel.db.session() as session:
        assert find_upload(session, response.json()["id"], credentials_key(f"Device {token}", None)) is not None


def test_expired_uploads_are_unusable_and_cleaned_up(api):
    fresh = _upload(api).json()["id"].removeprefix("file:")
    old = _upload(api).json()["id"].removeprefix("file:")
    with api.kernel.db.session() as session:
        session.execute(
            update(UploadedFile).where(UploadedFile.id == old).values(created=clock.now() - timedelta(hours=25))
        )
    mine = credentials_key(f"Token {api.token}", None)
    with api.kernel.db.session() as session:
        assert find_upload(session, f"file:{old}", mine) is None
        assert find_upload(session, f"file:{fresh}", mine) is not None
    assert delete_expired_uploads(JobRunContext(api.kernel, "test")) == 1
    with api.kernel.db.session() as session:
        assert [row.id for row in session.query(UploadedFile)] == [fresh]


def test_cleanup_job_is_registered_periodically(api):
    assert api.kernel.registries.jobs["core.delete_expired_uploads"].function is delete_expired_uploads
    assert api.kernel.jobs.periodic()["core.delete_expired_uploads"] == 3600
