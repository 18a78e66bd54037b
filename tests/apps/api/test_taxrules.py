from sqlalchemy import select, update

from boxoffice.kernel.models import Item, LogEntry
from boxoffice.kernel.models.taxes import TaxRule

RULES = "/api/v1/organizers/demo/events/democon/taxrules/"
VAT = {"name": {"en": "VAT"}, "rate": "19.00", "price_includes_tax": True, "home_country": "DE"}


def create(api, **fields):
    response = api.post(RULES, {**VAT, **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def test_crud_round_trip(api):
    created = create(api, internal_name="VAT DE")
    assert created == {
        "id": created["id"],
        "name": {"en": "VAT"},
        "default": False,
        "internal_name": "VAT DE",
        "code": "S/standard",
        "rate": "19.00",
        "price_includes_tax": True,
        "eu_reverse_charge": False,
        "keep_gross_if_rate_changes": False,
        "custom_rules": None,
        "home_country": "DE",
    }
    detail = RULES + f"{created['id']}/"
    assert api.get(detail).json() == created
    listed = api.get(RULES).json()
    assert listed["count"] == 1 and listed["results"] == [created]

    patched = api.patch(detail, {"rate": "7", "code": "S/reduced"})
    assert patched.status_code == 200
    assert (patched.json()["rate"], patched.json()["code"], patched.json()["internal_name"]) == (
        "7.00",
        "S/reduced",
        "VAT DE",
    )

    replaced = api.put(detail, {"name": {"en": "Exempt"}, "rate": "0.00", "code": "E/VATEX-EU-132-1N"})
    assert replaced.status_code == 200, replaced.json()
    body = replaced.json()
    # PUT resets what it leaves out.
    assert body["internal_name"] is None and body["home_country"] is None
    assert body["code"] == "E/VATEX-EU-132-1N" and body["rate"] == "0.00"

    assert api.delete(detail).status_code == 204
    assert api.get(detail).status_code == 404
    with api.kernel.db.session() as session:
        actions = [
            entry.action_type
            for entry in session.scalars(
                select(LogEntry).where(LogEntry.object_type == "taxrule").order_by(LogEntry.id)
            )
        ]
        changed = session.scalars(
            select(LogEntry).where(LogEntry.action_type == "boxoffice.event.taxrule.changed").order_by(LogEntry.id)
        ).first()
        assert changed.data == {"rate": "7", "code": "S/reduced"}
        assert changed.actor_type == "token"
    assert actions == [
        "boxoffice.event.taxrule.added",
        "boxoffice.event.taxrule.changed",
        "boxoffice.event.taxrule.changed",
        "boxoffice.event.taxrule.deleted",
    ]


def test_zero_rate_gets_no_code_by_default(api):
    created = create(api, rate="0")
    assert created["code"] is None and created["rate"] == "0.00"


def test_validation(api):
    response = api.post(RULES, {"internal_name": "x" * 191, "code": "S/nonsense"})
    assert response.status_code == 400
    assert set(response.json()) == {"name", "rate", "internal_name", "code"}

    for rate in ("-1", "NaN", "1.234", "100000000"):
        response = api.post(RULES, {**VAT, "rate": rate})
        assert response.status_code == 400 and "rate" in response.json(), rate
    assert "rate" in api.post(RULES, {**VAT, "rate": "abc"}).json()

    # EN16931: exemptions and reverse charge carry no tax, standard rates do.
    assert "code" in api.post(RULES, {**VAT, "code": "Z"}).json()
    assert "code" in api.post(RULES, {**VAT, "rate": "0", "code": "S/standard"}).json()
    assert "code" in api.post(RULES, {**VAT, "rate": "0", "code": "E/because"}).json()

    assert "home_country" in api.post(RULES, {**VAT, "home_country": "XX"}).json()
    reverse = api.post(RULES, {**VAT, "home_country": None, "eu_reverse_charge": True})
    assert "home_country" in reverse.json()
    assert api.post(RULES, {**VAT, "name": {"en": "  "}}).json() == {"name": ["This field may not be blank."]}
    assert "name" in api.post(RULES, {**VAT, "name": "VAT"}).json()
    # PostgreSQL cannot store NUL characters: a 400, not a database error.
    assert api.post(RULES, {**VAT, "internal_name": "a\u0000b"}).json() == {
        "internal_name": ["Null characters are not allowed."]
    }


def test_custom_rules(api):
    rules = [
        {"country": "ZZ", "address_type": "business_vat_id", "action": "reverse", "code": "AE"},
        {"country": "CH", "address_type": "", "action": "vat", "rate": "8.10", "invoice_text": {"en": "Swiss VAT"}},
    ]
    created = create(api, custom_rules=rules)
    assert created["custom_rules"] == rules
    bad = api.post(
        RULES,
        {
            **VAT,
            "custom_rules": [
                {"country": "ZZ", "action": "vat"},
                {"country": "Mars", "address_type": "alien", "action": "explode", "rate": "x", "code": "Q"},
            ],
        },
    )
    assert bad.status_code == 400
    assert bad.json()["custom_rules"][0] == {}
    assert set(bad.json()["custom_rules"][1]) == {"country", "address_type", "action", "rate", "code"}
    no_home = api.post(RULES, {**VAT, "home_country": "", "custom_rules": rules})
    assert "home_country" in no_home.json()


def test_only_one_default_rule(api):
    first = create(api, default=True)
    second = create(api, default=True)
    assert second["default"] is True
    assert api.get(RULES + f"{first['id']}/").json()["default"] is False
    assert api.patch(RULES + f"{first['id']}/", {"default": True}).json()["default"] is True
    assert api.get(RULES + f"{second['id']}/").json()["default"] is False


def test_delete_refused_while_items_use_the_rule(api):
    rule = create(api)
    with api.kernel.db.session() as session:
        session.execute(update(Item).values(tax_rule_id=rule["id"]))
    response = api.delete(RULES + f"{rule['id']}/")
    assert response.status_code == 403
    assert "in use" in response.json()["detail"]
    with api.kernel.db.session() as session:
        session.execute(update(Item).values(tax_rule_id=None))
    assert api.delete(RULES + f"{rule['id']}/").status_code == 204


def test_permissions_and_scoping(api):
    rule = create(api)
    detail = RULES + f"{rule['id']}/"
    reader = api.make_token(event_permissions=("event.items:write",), organizer_permissions=())
    assert api.get(RULES, reader).status_code == 200
    assert api.post(RULES, VAT, reader).status_code == 403
    assert api.patch(detail, {"rate": "7.00"}, reader).status_code == 403
    assert api.put(detail, VAT, reader).status_code == 403
    assert api.delete(detail, reader).status_code == 403
    writer = api.make_token(event_permissions=("event.settings.tax:write",), organizer_permissions=())
    assert api.patch(detail, {"rate": "7.00"}, writer).status_code == 200

    rival = api.make_token("rival")
    assert api.get(RULES, rival).status_code == 403
    assert api.get(detail, rival).status_code == 403
    assert api.get("/api/v1/organizers/rival/events/rivalcon/taxrules/").status_code == 403
    # A rule of another event of the same organizer is not found through this one.
    assert api.get(f"/api/v1/organizers/demo/events/other/taxrules/{rule['id']}/").status_code == 404
    assert api.get(RULES + "999999/").status_code == 404
    assert api.get(RULES + "99999999999999999999999/").status_code == 404


def test_list_last_modified(api):
    first = api.get(RULES)
    last_modified = first.headers["last-modified"]
    again = api.get(RULES, headers={"If-Modified-Since": last_modified})
    assert again.status_code == 304
    create(api)
    changed = api.get(RULES, headers={"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})
    assert changed.status_code == 200 and changed.json()["count"] == 1


def test_pagination(api):
    for number in range(3):
        create(api, internal_name=f"r{number}")
    page = api.get(RULES + "?page_size=2&ordering=-id").json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert [rule["internal_name"] for rule in page["results"]] == ["r2", "r1"]
    assert page["next"] is not None


def test_clone_copies_tax_rules(api):
    rule = create(api, default=True, custom_rules=[{"country": "AT", "address_type": "", "action": "no"}])
    cloned = api.post(
        "/api/v1/organizers/demo/events/democon/clone/", {"slug": "taxclone", "date_from": "2032-01-01T00:00:00Z"}
    )
    assert cloned.status_code == 201, cloned.json()
    copies = api.get("/api/v1/organizers/demo/events/taxclone/taxrules/").json()["results"]
    assert len(copies) == 1
    copy = copies[0]
    assert copy["id"] != rule["id"]
    assert {key: value for key, value in copy.items() if key != "id"} == {
        key: value for key, value in rule.items() if key != "id"
    }
    with api.kernel.db.session() as session:
        assert len(session.scalars(select(TaxRule)).all()) == 2
