"""Who a respondent is, as far as matching goes: the keyed hash of an email address that lets a
Slack respondent be matched to a signup without either side storing the address (SPEC §5 "Who
answered"). Pure: the key is passed in."""

from __future__ import annotations

import hashlib
import hmac

MIN_SECRET = 16  # as PMFBOT_SECRET_KEY is required to be (bot.config)


def normalise_email(raw: str) -> str | None:
    """The address as it is compared: trimmed and lower-cased; None when it is blank or has no
    "@" between a local part and a domain (nothing to match on)."""
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        return None
    return email


def email_hash(secret: str, product_id: int, email: str) -> str | None:
    """HMAC-SHA256 of the normalised address under the app's secret key, scoped to one product
    (the same person's hashes cannot be linked across products). Without the key a stored hash
    cannot be checked against a guessed address, which a plain hash of an email could. None for
    an address that is not one (``normalise_email``)."""
    if not secret or len(secret) < MIN_SECRET:
        raise ValueError("hashing email addresses needs PMFBOT_SECRET_KEY (16+ characters)")
    norm = normalise_email(email)
    if norm is None:
        return None
    msg = f"pmf-gate/email/v1\x00{product_id}\x00{norm}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()
