"""The orders engine: placing orders without overselling, pricing and taxes, the financial ledger, life-cycle
transitions, payments and refunds, cart reservations.

Everything here works on a SQLAlchemy session inside the caller's unit of work; the REST API, jobs and plugins all
go through these functions, so an order changes the same way whoever changes it.
"""
