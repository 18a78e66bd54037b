"""Unguessable identifiers: order codes, order and ticket secrets, pseudonymisation ids.

Lengths of order codes and ticket secrets come from the configuration (``order_code_length``,
``ticket_secret_length``); every value is drawn from :mod:`secrets`.
"""

from __future__ import annotations

import re
import secrets

# Order codes are read out on the phone and typed from paper: no O/0 or I/1 in what we generate.
ORDER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# What clients may choose themselves (pretix: A-Z and digits without O and 1).
CLIENT_ORDER_CODE = re.compile(r"^[A-NP-Z02-9]{1,16}$")
SECRET_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ3789"


def random_string(alphabet: str, length: int) -> str:
    """``length`` characters drawn uniformly from ``alphabet`` (at most 256 characters), from one read of the
    system's randomness instead of one per character: bulk placement draws ten thousand codes and secrets at once.
    Bytes beyond the largest multiple of the alphabet's size are dropped, so no character is favoured."""
    size = len(alphabet)
    usable = 256 - 256 % size
    drawn: list[str] = []
    while len(drawn) < length:
        drawn += [alphabet[byte % size] for byte in secrets.token_bytes(length) if byte < usable]
    return "".join(drawn[:length])


def order_code(length: int) -> str:
    return random_string(ORDER_CODE_ALPHABET, length)


def ticket_secret(length: int) -> str:
    return random_string(SECRET_ALPHABET, length)


def order_secret() -> str:
    return random_string(SECRET_ALPHABET, 16)


def web_secret() -> str:
    return random_string(SECRET_ALPHABET, 32)


def pseudonymization_id() -> str:
    return random_string(PSEUDONYM_ALPHABET, 10)
