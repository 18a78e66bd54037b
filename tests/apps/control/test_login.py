"""Log-in, sessions, CSRF and the language of the pages."""

from __future__ import annotations

from sqlalchemy import select
from statements import counted, is_write

from boxoffice.kernel.models.users import User
from boxoffice.kernel.models.web_sessions import WebSession


def test_pages_need_a_log_in_and_come_back_after_it(control):
    response = control.client.get("/control/event/demo/democon/orders/?q=x", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/control/login?next=%2Fcontrol%2Fevent%2Fdemo%2Fdemocon%2Forders%2F%3Fq%3Dx"
    control.refresh_csrf()
    logged_in = control.post(
        "/control/login",
        {"email": "ADMIN@example.org", "password": "a long enough password", "next": "/control/event/demo/democon/"},
        follow_redirects=False,
    )
    assert logged_in.status_code == 303
    assert logged_in.headers["location"] == "/control/event/demo/democon/"
    assert control.client.get("/control/event/demo/democon/").status_code == 200


def test_wrong_password_or_unknown_user_is_refused_alike(control):
    control.refresh_csrf()
    wrong = control.post("/control/login", {"email": "admin@example.org", "password": "nope"})
    unknown = control.post("/control/login", {"email": "nobody@example.org", "password": "a long enough password"})
    assert wrong.status_code == unknown.status_code == 400
    assert "not correct" in wrong.text and "not correct" in unknown.text
    assert control.client.get("/control/", follow_redirects=False).status_code == 303


def test_next_never_leaves_the_control_panel(control):
    control.refresh_csrf()
    response = control.post(
        "/control/login",
        {"email": "admin@example.org", "password": "a long enough password", "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/control/"


def test_sessions_live_in_the_database_and_end_at_log_out(control):
    control.log_in()
    with control.kernel.db.session() as session:
        assert session.scalar(select(WebSession.key)) == control.client.cookies["boxoffice_session"]
    assert control.client.get("/control/").status_code == 200
    assert control.post("/control/logout", follow_redirects=False).status_code == 303
    assert control.client.get("/control/", follow_redirects=False).status_code == 303


def test_password_change_ends_other_sessions(control):
    control.log_in()
    with control.kernel.db.session() as session:
        user = session.scalar(select(User).where(User.email == "admin@example.org"))
        from boxoffice.apps.control.passwords import hash_password

        user.password = hash_password("another long password")
    assert control.client.get("/control/", follow_redirects=False).status_code == 303


def test_inactive_users_cannot_log_in(control):
    with control.kernel.db.session() as session:
        session.scalar(select(User).where(User.email == "admin@example.org")).is_active = False
    assert control.log_in().status_code == 400


def test_forms_without_the_csrf_token_are_refused(admin):
    response = admin.client.post("/control/event/demo/democon/plugins/banktransfer/enable", data={})
    assert response.status_code == 403
    assert "<html" in response.text
    wrong = admin.client.post("/control/event/demo/democon/plugins/banktransfer/enable", data={"_csrf_token": "forged"})
    assert wrong.status_code == 403


def test_the_api_needs_no_csrf_token(control):
    response = control.place_order()
    assert response


def test_language_from_accept_language_query_and_cookie(control):
    german = control.client.get("/control/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in german.text and "Anmelden" in german.text
    control.client.cookies.clear()
    switched = control.client.get("/control/login?lang=de")
    assert "Anmelden" in switched.text
    assert control.client.cookies["boxoffice_lang"] == "de"
    remembered = control.client.get("/control/login", headers={"Accept-Language": "en"})
    assert "Anmelden" in remembered.text
    english = control.client.get("/control/login?lang=en")
    assert '<html lang="en">' in english.text and "Log in" in english.text
    ignored = control.client.get("/control/login?lang=xx")
    assert ignored.status_code == 200


def test_unknown_control_pages_are_html_404(admin):
    response = admin.client.get("/control/event/demo/nope/")
    assert response.status_code == 404
    assert "<html" in response.text


def test_phone_viewport_and_stylesheet(control):
    page = control.client.get("/control/login")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert control.client.get("/static/web/web.css").status_code == 200


def test_log_in_gives_the_session_a_new_id(control):
    control.refresh_csrf()
    control.client.cookies.set("boxoffice_session", "planted-by-an-attacker", domain="testserver.local")
    assert control.log_in_keeping_cookies().status_code == 303
    fresh = control.client.cookies["boxoffice_session"]
    assert fresh != "planted-by-an-attacker" and len(fresh) == 64
    with control.kernel.db.session() as session:
        assert session.scalars(select(WebSession.key)).all() == [fresh]
    assert control.client.get("/control/").status_code == 200


def test_anonymous_pages_write_no_session(control):
    from boxoffice.kernel.models.web_sessions import WebSession as Row

    page = control.client.get("/control/login")
    assert "boxoffice_session" not in page.cookies
    with control.kernel.db.session() as session:
        assert session.scalar(select(Row.key)) is None
    with counted(control.kernel.db.engine, keep=is_write) as writes:
        assert control.client.get("/control/login?lang=de").status_code == 200
    assert writes == []


def test_unmatched_urls_answer_html_outside_the_api_and_json_inside(control):
    page = control.client.get("/control/no/such/page/here", headers={"Accept-Language": "de"})
    assert page.status_code == 404 and "<html" in page.text and "Diese Seite gibt es nicht." in page.text
    api = control.client.get("/api/v1/no/such/thing/")
    assert api.status_code == 404 and api.json() == {"detail": "Not found."}
