"""Flow step 1: the complaint record, checked before a case exists.

Each intake field is declared once, in `INTAKE`: its input (label, kind, limits,
validation), the `Case` column it fills, and whether the "filed" event records it (and so
its thread post shows it). The modal (blocks/intake.py), the handler that reads the
submission, the inbox payload, validation, `Desk.file_complaint` and the thread post all
read this table: a new intake field is one `In(...)` line here, its column in
bot/models/case.py (with a migration) and its Chinese in the .po.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, make_dataclass
from datetime import date
from typing import Any

from bot.i18n import N_, _
from bot.workflow.errors import InvalidInput
from bot.workflow.fields import DateRule, Field, Kind, clean_fields

# how the complaint came in (not who took it): "Received via"
RECEIVED_VIA = {
    "phone": N_("Phone"),
    "fax": N_("Fax"),
    "letter": N_("Letter"),
    "email": N_("E-mail"),
    "verbal": N_("Verbal"),
    "visit": N_("Customer visit"),
}
URGENT = {"urgent": N_("Urgent: mobilise the responsible units at once")}
# issue 12(3e): the procedure covers products and services (产品、服务)
COMPLAINT_KINDS = {"product": N_("A product"), "service": N_("A service")}
TABLES = {"via": RECEIVED_VIA, "urgent": URGENT, "complaint_kind": COMPLAINT_KINDS}
# product, lots and quantity are needed for a product complaint only (issue 12(3e))
PRODUCT_ONLY = ("product", "lots", "quantity")

MAX_SHORT = 200
MAX_LONG = 3000


@dataclass(frozen=True)
class In:
    """An intake field: the input, the `Case` column it fills, and whether the "filed"
    event (and its thread post) records it."""

    field: Field
    column: str
    recorded: bool = False
    default: Any = ""


F, K = Field, Kind
INTAKE: tuple[In, ...] = (
    In(
        F("customer", N_("Customer"), K.NAME, limit=MAX_SHORT, placeholder=N_("Company name")),
        "customer",
        True,
    ),
    In(
        F(
            "contact",
            N_("Customer contact"),
            limit=MAX_SHORT,
            placeholder=N_("Name, phone, e-mail"),
        ),
        "customer_contact",
    ),
    # issue 12(3d), procedure 5.1.2: the customer's contact window, agreed between
    # Marketing and Technical Quality (needed when Technical Quality files first)
    In(
        F(
            "window",
            N_("Who speaks to the customer"),
            K.USER,
            required=False,
            limit=32,
            hint=N_(
                "The customer's contact window, agreed between Marketing and Technical Quality."
            ),
        ),
        "contact_window",
        True,
        None,
    ),
    In(
        F(
            "window_by",
            N_("Customer to be contacted by"),
            K.DATE,
            required=False,
            dates=DateRule.NOT_PAST,
        ),
        "contact_by",
        True,
        None,
    ),
    # issue 12(3e): a service complaint has no product, lot or quantity
    In(
        F(
            "kind",
            N_("The complaint is about"),
            K.RADIO,
            required=False,
            options="complaint_kind",
            hint=N_("Empty: a product. A service complaint needs no product, lot or quantity."),
        ),
        "complaint_kind",
        True,
        None,
    ),
    In(
        F(
            "product",
            N_("Product / part number"),
            K.NAME,
            required=False,
            limit=MAX_SHORT,
            placeholder=N_("Part number"),
            missing=N_("Please give the product."),
        ),
        "product",
        True,
    ),
    In(
        F(
            "lots",
            N_("Lot or batch number(s)"),
            required=False,
            limit=MAX_SHORT * 2,
            hint=N_("Separate several lots with commas."),
            missing=N_("Please give the lot or batch number(s)."),
        ),
        "lots",
        True,
    ),
    In(
        F(
            "quantity",
            N_("Quantity affected"),
            K.COUNT,
            required=False,
            positive=True,
            limit=12,
            hint=N_("A whole number of pieces."),
            missing=N_("Please give the quantity affected."),
        ),
        "quantity",
        True,
    ),
    In(
        F(
            "via",
            N_("Received via"),
            K.CHOICE,
            options="via",
            placeholder=N_("How did it come in?"),
            missing=N_("Please choose how the complaint was received."),
        ),
        "received_via",
        True,
    ),
    In(
        F(
            "description",
            N_("Description of the defect"),
            K.LONG,
            placeholder=N_("What the customer found, where, how many, since when"),
        ),
        "description",
    ),
    In(
        F(
            "deadline",
            N_("Customer's reply deadline"),
            K.DATE,
            required=False,
            dates=DateRule.NOT_PAST,
            hint=N_("Leave empty: corrective reply in 1 working day, preventive in 3."),
        ),
        "customer_deadline",
        True,
        None,
    ),
    In(F("urgent", N_("Urgency"), K.FLAG, required=False, options="urgent"), "urgent", True, False),
    In(
        F("evidence", N_("Evidence (photos, files)"), K.FILES, required=False, limit=10),
        "evidence",
        default=None,
    ),
    In(F("notes", N_("Anything else"), K.LONG, required=False), "notes"),
)
FIELDS: tuple[Field, ...] = tuple(i.field for i in INTAKE)


def _default(i: In) -> Any:
    return (
        field(default_factory=list) if i.default is None and i.field.kind is K.FILES else i.default
    )


# What the intake modal collected, as typed; field names are the modal's block ids.
IntakeForm = make_dataclass("IntakeForm", [(i.field.key, Any, _default(i)) for i in INTAKE])
IntakeForm.__module__ = __name__
IntakeForm.__doc__ = "What the intake modal collected, as typed (see INTAKE)."

# A validated complaint record, ready to become a case.
Complaint = make_dataclass("Complaint", [(i.field.key, Any) for i in INTAKE], frozen=True)
Complaint.__module__ = __name__


def intake_form(values: dict[str, Any]) -> Any:
    """The form from a modal's flattened values (bot/handlers/views.values)."""
    return IntakeForm(
        **{i.field.key: values.get(i.field.key) for i in INTAKE if i.field.key in values}
    )


def validate_intake(form: Any, *, today: date, quality_first: bool = False) -> Any:
    """Return the clean record or raise InvalidInput with one message per bad field.

    `today` is the company's local date: a customer deadline before it is refused.
    `quality_first`: Technical Quality files it (not Marketing), so the customer's contact
    window must be named (procedure 5.1.2: the two agree on who speaks to the customer)."""
    errors: dict[str, str] = {}
    data = asdict(form)
    clean = clean_fields(FIELDS, data, today=today, tables=TABLES, errors=errors)
    if quality_first and not clean["window"] and "window" not in errors:
        errors["window"] = _(
            "Technical Quality is filing first: name who speaks to the customer (agree it "
            "with Marketing)."
        )
    clean["kind"] = clean["kind"] or "product"
    if clean["kind"] == "product":  # issue 12(3e): a service complaint needs none of these
        for f in FIELDS:
            if f.key in PRODUCT_ONLY and not clean[f.key] and f.key not in errors:
                errors[f.key] = _(f.missing)
    else:
        clean.update(product="", lots="", quantity=0)
    if errors:
        raise InvalidInput(errors)
    return Complaint(**clean)


def case_columns(complaint: Any) -> dict[str, Any]:
    """The `Case` columns a complaint fills."""
    data = asdict(complaint)
    return {i.column: data[i.field.key] for i in INTAKE}


def filed_event(complaint: Any) -> dict[str, Any]:
    """What the "filed" event records (and its thread post shows)."""
    data = asdict(complaint)
    iso = lambda v: v.isoformat() if isinstance(v, date) else v  # noqa: E731
    # a service complaint has no product, lot or quantity to show (issue 12(3e))
    skip = PRODUCT_ONLY if data.get("kind") == "service" else ()
    return {
        i.field.key: iso(data[i.field.key])
        for i in INTAKE
        if i.recorded and i.field.key not in skip
    }


def format_ref(year: int, number: int) -> str:
    return f"CC-{year}-{number:04d}"
