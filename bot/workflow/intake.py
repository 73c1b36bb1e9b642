"""Flow step 1: the complaint record, checked before a case exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.workflow.errors import InvalidInput
from bot.workflow.text import clean_data, clean_text

RECEIVED_VIA = {
    "phone": "Phone",
    "fax": "Fax",
    "letter": "Letter",
    "email": "E-mail",
    "verbal": "Verbal",
    "visit": "Customer visit",
}

MAX_SHORT = 200
MAX_LONG = 3000


@dataclass
class IntakeForm:
    """What the intake modal collected, as typed. Field names are the modal's block ids,
    so validation errors map straight back onto the form."""

    customer: str = ""
    contact: str = ""
    product: str = ""
    lots: str = ""
    quantity: str = ""
    via: str = ""
    description: str = ""
    deadline: str | None = None
    urgent: bool = False
    evidence: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""


@dataclass(frozen=True)
class Complaint:
    """A validated complaint record, ready to become a case."""

    customer: str
    contact: str
    product: str
    lots: str
    quantity: int
    via: str
    description: str
    deadline: date | None
    urgent: bool
    evidence: list[dict[str, Any]]
    notes: str


def validate_intake(form: IntakeForm, *, today: date) -> Complaint:
    """Return the clean record or raise InvalidInput with one message per bad field.

    `today` is the company's local date: a customer deadline before it is refused."""
    errors: dict[str, str] = {}

    def text(name: str, value: str | None, *, required: bool, limit: int) -> str:
        v = clean_text(value).strip()
        if required and not v:
            errors[name] = "Please fill this in."
        elif len(v) > limit:
            errors[name] = f"Please keep this under {limit} characters (now {len(v)})."
        return v

    customer = text("customer", form.customer, required=True, limit=MAX_SHORT)
    contact = text("contact", form.contact, required=True, limit=MAX_SHORT)
    product = text("product", form.product, required=True, limit=MAX_SHORT)
    lots = text("lots", form.lots, required=True, limit=MAX_SHORT * 2)
    description = text("description", form.description, required=True, limit=MAX_LONG)
    notes = text("notes", form.notes, required=False, limit=MAX_LONG)

    quantity = 0
    raw_q = clean_text(form.quantity).strip().replace(",", "")
    if not raw_q:
        errors["quantity"] = "Please give the quantity affected."
    elif not (raw_q.isascii() and raw_q.isdigit()) or int(raw_q) <= 0:
        errors["quantity"] = "The quantity must be a whole number greater than zero."
    elif int(raw_q) > 1_000_000_000:
        errors["quantity"] = "That quantity is too large to be right."
    else:
        quantity = int(raw_q)

    via = clean_text(form.via).strip()
    if via not in RECEIVED_VIA:
        errors["via"] = "Please choose how the complaint was received."

    deadline: date | None = None
    if form.deadline:
        try:
            deadline = date.fromisoformat(clean_text(form.deadline))
        except ValueError:
            errors["deadline"] = "That is not a date."
        else:
            if deadline < today:
                errors["deadline"] = "The customer's deadline cannot be in the past."

    if len(form.evidence) > 10:
        errors["evidence"] = "Attach at most 10 files."

    if errors:
        raise InvalidInput(errors)
    return Complaint(
        customer=customer,
        contact=contact,
        product=product,
        lots=lots,
        quantity=quantity,
        via=via,
        description=description,
        deadline=deadline,
        urgent=bool(form.urgent),
        evidence=clean_data(list(form.evidence)),
        notes=notes,
    )


def format_ref(year: int, number: int) -> str:
    return f"CC-{year}-{number:04d}"


def local_today(now: datetime, tz: Any) -> date:
    return now.astimezone(tz).date()
