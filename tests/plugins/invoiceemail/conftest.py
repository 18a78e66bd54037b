"""The shared invoice test world."""

from invoicing_world import invoice_world  # noqa: F401
