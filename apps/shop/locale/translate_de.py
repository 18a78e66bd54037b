"""Write the shop's catalogs from the extracted template: ``de`` with the German texts below, ``en`` as the source.

Run after ``pybabel extract`` (see docs/shop.md); messages without a German text here stay untranslated (English).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
DOMAIN = "boxoffice-shop"

GERMAN: dict[str, str | tuple[str, str]] = {
    "Please enter a whole number of tickets.": "Bitte geben Sie eine ganze Zahl von Tickets ein.",
    "You did not select any products.": "Sie haben keine Produkte ausgewählt.",
    "Tickets for this event cannot be bought at the moment.": "Für diese Veranstaltung können derzeit keine Tickets "
    "gekauft werden.",
    "%(product)s is sold out.": "%(product)s ist ausverkauft.",
    "%(product)s is not on sale yet.": "%(product)s ist noch nicht im Verkauf.",
    "%(product)s is not available.": "%(product)s ist nicht verfügbar.",
    "Only %(count)s of %(product)s can be added to your cart.": "Nur %(count)s von %(product)s können in den "
    "Warenkorb gelegt werden.",
    "You cannot buy more than %(count)s tickets in one order.": "Sie können nicht mehr als %(count)s Tickets in einer "
    "Bestellung kaufen.",
    "You cannot buy more than %(count)s of %(product)s in one order.": "Sie können nicht mehr als %(count)s von "
    "%(product)s in einer Bestellung kaufen.",
    "You need to buy at least %(count)s of %(product)s.": "Sie müssen mindestens %(count)s von %(product)s kaufen.",
    "Not enough tickets of %(product)s are left to add them to your cart.": "Es sind nicht mehr genug Tickets von "
    "%(product)s übrig, um sie in den Warenkorb zu legen.",
    "Please enter a number in the allowed range.": "Bitte geben Sie eine Zahl im erlaubten Bereich ein.",
    "Please answer yes or no.": "Bitte antworten Sie mit Ja oder Nein.",
    "Please enter a valid date in the allowed range.": "Bitte geben Sie ein gültiges Datum im erlaubten Bereich ein.",
    "Please enter a valid time.": "Bitte geben Sie eine gültige Uhrzeit ein.",
    "Please enter a valid date and time in the allowed range.": "Bitte geben Sie Datum und Uhrzeit im erlaubten "
    "Bereich ein.",
    "Please choose a country.": "Bitte wählen Sie ein Land.",
    "Please enter a valid phone number.": "Bitte geben Sie eine gültige Telefonnummer ein.",
    "Please choose one of the options.": "Bitte wählen Sie eine der Optionen.",
    "Please choose from the options.": "Bitte wählen Sie aus den Optionen.",
    "Please enter a valid e-mail address.": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "No payment method is available for this order. Please contact the organizer.": "Für diese Bestellung ist keine "
    "Zahlungsart verfügbar. Bitte wenden Sie sich an den Veranstalter.",
    "Please choose a payment method.": "Bitte wählen Sie eine Zahlungsart.",
    "Please enter the attendee's name.": "Bitte geben Sie den Namen der teilnehmenden Person ein.",
    "This name is too long.": "Dieser Name ist zu lang.",
    "This question must be answered.": "Diese Frage muss beantwortet werden.",
    "Please check this answer.": "Bitte prüfen Sie diese Antwort.",
    "Some of the products in your cart are no longer available in this quantity. Please check your cart.": "Einige "
    "Produkte in Ihrem Warenkorb sind in dieser Menge nicht mehr verfügbar. Bitte prüfen Sie Ihren Warenkorb.",
    "Your order could not be placed: %(reason)s": "Ihre Bestellung konnte nicht aufgegeben werden: %(reason)s",
    "Please check your payment details.": "Bitte prüfen Sie Ihre Zahlungsangaben.",
    "Awaiting approval by the organizer": "Wartet auf Freigabe durch den Veranstalter",
    "Awaiting payment": "Warten auf Zahlung",
    "Canceled": "Storniert",
    "Paid": "Bezahlt",
    "Expired": "Abgelaufen",
    "Payment fee": "Zahlungsgebühr",
    "Shipping fee": "Versandgebühr",
    "Service fee": "Servicegebühr",
    "Cancellation fee": "Stornogebühr",
    "Fee": "Gebühr",
    "Yes": "Ja",
    "No": "Nein",
    "The products have been added to your cart.": "Die Produkte wurden in Ihren Warenkorb gelegt.",
    "The product has been removed from your cart.": "Das Produkt wurde aus Ihrem Warenkorb entfernt.",
    "This product is no longer in your cart.": "Dieses Produkt ist nicht mehr in Ihrem Warenkorb.",
    "Your cart is empty.": "Ihr Warenkorb ist leer.",
    "Thank you! Your order has been placed.": "Vielen Dank! Ihre Bestellung ist eingegangen.",
    "Please correct the marked fields.": "Bitte korrigieren Sie die markierten Felder.",
    "The payment could not be completed: %(reason)s": "Die Zahlung konnte nicht abgeschlossen werden: %(reason)s",
    "Your reservation has expired. You can still complete your order as long as the tickets are available.": "Ihre "
    "Reservierung ist abgelaufen. Sie können Ihre Bestellung trotzdem abschließen, solange die Tickets verfügbar sind.",
    "The products in your cart are reserved for you until %(time)s.": "Die Produkte in Ihrem Warenkorb sind bis "
    "%(time)s für Sie reserviert.",
    "Time left:": "Verbleibende Zeit:",
    "Your cart": "Ihr Warenkorb",
    "Back to the shop": "Zurück zum Shop",
    "Product": "Produkt",
    "Price": "Preis",
    "Remove": "Entfernen",
    "Total": "Gesamt",
    "Proceed to checkout": "Weiter zur Kasse",
    "Add more products": "Weitere Produkte hinzufügen",
    "Checkout": "Kasse",
    "Contact information": "Kontaktdaten",
    "E-mail": "E-Mail",
    "We send your order confirmation and a link to your order to this address.": "An diese Adresse senden wir Ihre "
    "Bestellbestätigung und einen Link zu Ihrer Bestellung.",
    "Attendee name": "Name der teilnehmenden Person",
    "Attendee e-mail": "E-Mail der teilnehmenden Person",
    "Your order": "Ihre Bestellung",
    "Payment method": "Zahlungsart",
    "Place binding order": "Zahlungspflichtig bestellen",
    "Back to cart": "Zurück zum Warenkorb",
    "%(num)s product": ("%(num)s Produkt", "%(num)s Produkte"),
    "View cart": "Warenkorb ansehen",
    "The presale for this event has not started yet.": "Der Vorverkauf für diese Veranstaltung hat noch nicht "
    "begonnen.",
    "The presale for this event is over.": "Der Vorverkauf für diese Veranstaltung ist beendet.",
    "Tickets for the dates of this event series cannot be bought here yet.": "Tickets für die Termine dieser "
    "Veranstaltungsreihe können hier noch nicht gekauft werden.",
    "No products are currently on sale for this event.": "Für diese Veranstaltung sind derzeit keine Produkte im "
    "Verkauf.",
    "Sold out": "Ausverkauft",
    "Not on sale yet": "Noch nicht im Verkauf",
    "No longer on sale": "Nicht mehr im Verkauf",
    "Not available": "Nicht verfügbar",
    "%(num)s left": ("noch %(num)s", "noch %(num)s"),
    "Quantity": "Anzahl",
    "Add to cart": "In den Warenkorb",
    "Your tickets are being prepared": "Ihre Tickets werden vorbereitet",
    "This takes a few seconds. The download starts as soon as the file is ready.": "Das dauert einige Sekunden. Der "
    "Download beginnt, sobald die Datei bereit ist.",
    "Back to your order": "Zurück zu Ihrer Bestellung",
    "This shop is in test mode. Orders are not real.": "Dieser Shop ist im Testmodus. Bestellungen sind nicht echt.",
    "Order %(code)s": "Bestellung %(code)s",
    "Status:": "Status:",
    "Ordered on %(date)s": "Bestellt am %(date)s",
    "Payment": "Zahlung",
    "Please pay %(amount)s.": "Bitte zahlen Sie %(amount)s.",
    "Please pay until %(date)s, or the order will expire.": "Bitte zahlen Sie bis %(date)s, sonst verfällt die "
    "Bestellung.",
    "Your tickets": "Ihre Tickets",
    "Your tickets can be downloaded here once your order has been paid.": "Sobald Ihre Bestellung bezahlt ist, "
    "können Sie Ihre Tickets hier herunterladen.",
    "Details": "Details",
    "Attendee:": "Teilnehmer*in:",
    "This voucher cannot be used for this many products.": "Dieser Gutschein kann nicht für so viele Produkte "
    "verwendet werden.",
    "A voucher in your cart cannot be used any more. Please remove the product and try again.": "Ein Gutschein in "
    "Ihrem Warenkorb kann nicht mehr verwendet werden. Bitte entfernen Sie das Produkt und versuchen Sie es erneut.",
    "This voucher code is not known.": "Dieser Gutscheincode ist unbekannt.",
    "This voucher has expired.": "Dieser Gutschein ist abgelaufen.",
    "This voucher has already been used.": "Dieser Gutschein wurde bereits verwendet.",
    "This voucher is not valid for any product that is on sale.": "Dieser Gutschein gilt für kein Produkt, das im "
    "Verkauf ist.",
    "Voucher %(code)s: the products it is valid for are shown with its price.": "Gutschein %(code)s: Die Produkte, "
    "für die er gilt, werden mit seinem Preis angezeigt.",
    "With voucher": "Mit Gutschein",
    "Your payment method has been changed.": "Ihre Zahlungsart wurde geändert.",
    "Pay with another method": "Mit einer anderen Zahlungsart bezahlen",
    "Pay now": "Jetzt bezahlen",
    "Continue": "Weiter",
    "Other dates": "Andere Termine",
    "Choose a date": "Termin wählen",
    "No dates are currently on sale for this event.": "Für diese Veranstaltung sind derzeit keine Termine im Verkauf.",
    "Please choose a date first, then redeem the voucher there.": "Bitte wählen Sie zuerst einen Termin und lösen Sie "
    "den Gutschein dort ein.",
    "Please choose a date.": "Bitte wählen Sie einen Termin.",
    "There are no events on sale at the moment.": "Derzeit sind keine Veranstaltungen im Verkauf.",
    "Redeem a voucher": "Gutschein einlösen",
    "Redeem": "Einlösen",
    "Keep the address of this page: it is the link to your order.": "Bewahren Sie die Adresse dieser Seite auf: Sie "
    "ist der Link zu Ihrer Bestellung.",
}


def write(language: str, texts: dict[str, str | tuple[str, str]]) -> None:
    with (HERE / f"{DOMAIN}.pot").open("rb") as handle:
        template = read_po(handle)
    catalog = Catalog(locale=language, domain=DOMAIN, project="boxoffice", fuzzy=False)
    for message in template:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        translated = texts.get(key, "")
        if isinstance(message.id, tuple):
            forms = translated if isinstance(translated, tuple) else ("", "")
            catalog.add(message.id, forms, flags=message.flags)
        else:
            catalog.add(message.id, translated if isinstance(translated, str) else "", flags=message.flags)
    target = HERE / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        write_po(handle, catalog, width=120, omit_header=False, no_location=True)


if __name__ == "__main__":
    write("de", GERMAN)
    write("en", {})
