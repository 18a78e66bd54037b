"""Check-in: redeeming tickets on check-in lists, annulling check-ins, and the queries scanners and reports use.

:mod:`.redeem` decides about one scan (every result and reason code of pretix's check-in API) and records it,
:mod:`.rules` evaluates the lists' custom rules, :mod:`.queries` answers "which tickets belong on this list" and
"who is inside". The REST API (``apps/api/resources/checkin*.py``) is a thin layer over these.
"""

from __future__ import annotations
