"""The demo shop's help centre as a knowledge base: a dozen short policy documents, shared with every user by the
demo admin, so the `researcher` agent has something to research ("What is your refund policy for shipped
orders?"). They agree with the shop's rules in `demo/service.py`: pending and processing orders can be
cancelled, shipped and delivered ones refunded, and a person approves each refund.

Idempotent: a document already there (same title, the demo admin's, tagged `shop-policies`) is left as it is; a
reset adds them again."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import principal_of
from switchboard.knowledge.documents import DocumentService
from switchboard.knowledge.schemas import DocumentCreate
from switchboard.models import User
from switchboard.models.knowledge import DocumentFormat, KnowledgeDocument
from switchboard.settings import Settings

TAG = "shop-policies"
HELP = "https://shop.example.com/help/"

CORPUS: list[tuple[str, str, str]] = [
    (
        "Refund policy",
        "refunds",
        """# Refund policy

## Which orders can be refunded

Shipped and delivered orders can be refunded. A refund is for the whole order: the amount you paid, shipping
included. Orders that are still pending or processing are not refunded: cancel them instead, and you are never
charged.

## How a refund is made

Ask our support agent to refund the order. Every refund is reviewed and approved by a member of our staff before
it is made, usually within one business day. Once approved, the money goes back to the payment method you used,
and your bank shows it within 5 to 10 business days.

## Shipped orders still on their way

If your order has shipped but not arrived yet, you can still ask for a refund. Once the refund is approved, refuse
the parcel or send it back with the prepaid label from your account: you do not pay for the return.""",
    ),
    (
        "Returns",
        "returns",
        """# Returns

You can return any item within 30 days of delivery. Items must be unused and in their original packaging.

Print the prepaid return label from your account and drop the parcel at any post office. Returns are free for
customers in the United States.

Once the returned item reaches our warehouse we inspect it within 3 business days and then refund the order to the
original payment method.""",
    ),
    (
        "Cancelling an order",
        "cancellation",
        """# Cancelling an order

Pending and processing orders can be cancelled at any time, by you or by our support agent, and you are not
charged: the hold on your card is released.

An order that has shipped or been delivered can no longer be cancelled. Ask for a refund instead (see the refund
policy). A cancelled order cannot be reopened: place a new order.""",
    ),
    (
        "Shipping",
        "shipping",
        """# Shipping

Orders are processed within 1 to 2 business days. Standard shipping takes 3 to 5 business days and is free on
orders over $50; below that it costs $4.99. Express shipping takes 1 to 2 business days and costs $14.99.

When your order ships, its status changes to shipped and we e-mail you a tracking number.""",
    ),
    (
        "International shipping",
        "international-shipping",
        """# International shipping

We ship to Canada, the United Kingdom and the European Union. International delivery takes 7 to 14 business days.

Import duties and taxes are collected by the carrier on delivery and are not refunded if you refuse the parcel.""",
    ),
    (
        "Order statuses",
        "order-status",
        """# Order statuses

- **pending**: we received your order and are checking payment.
- **processing**: your order is being packed. It can still be cancelled.
- **shipped**: the parcel is with the carrier; you have a tracking number. It can be refunded, not cancelled.
- **delivered**: the carrier delivered the parcel.
- **cancelled**: the order was cancelled before it shipped; nothing was charged.
- **refunded**: the refund was approved and the money is on its way back to you.""",
    ),
    (
        "Warranty",
        "warranty",
        """# Warranty

The Mechanical Keyboard comes with a two-year limited warranty; Widget A and Widget B with a one-year warranty.

The warranty covers defects in materials and workmanship. It does not cover accidental damage, liquid spills or
normal wear of keycaps.

To make a warranty claim, contact support with your order number and a photo or video of the defect. We repair or
replace the item; if we can do neither, we refund it.""",
    ),
    (
        "Damaged or wrong items",
        "damaged-items",
        """# Damaged or wrong items

If an item arrives damaged, or you received the wrong item, tell us within 7 days of delivery and include photos
of the item and the packaging.

We send a replacement at no cost, or refund the order if you prefer. You do not need to send the damaged item
back unless we ask for it.""",
    ),
    (
        "Lost or delayed parcels",
        "lost-parcels",
        """# Lost or delayed parcels

If your tracking number shows no movement for 7 days, contact support. We open an investigation with the carrier,
which takes up to 10 business days.

If the carrier confirms the parcel is lost, we ship a replacement or refund the order, as you choose.""",
    ),
    (
        "Payment methods",
        "payment",
        """# Payment methods

We accept Visa, Mastercard, American Express and PayPal. Prices are in US dollars.

Your card is authorised when you place the order and charged when the order ships. A cancelled order is never
charged, and a refund goes back to the card or PayPal account you paid with.""",
    ),
    (
        "Discount codes and price changes",
        "promotions",
        """# Discount codes and price changes

One discount code can be used per order, and it must be entered before you pay. Codes cannot be added to an
order that has already been placed.

We do not adjust the price of an order after it is placed if the price drops later. If a refunded order used a
discount code, the refund is the amount you actually paid.""",
    ),
    (
        "Contacting support",
        "support",
        """# Contacting support

Our support agent answers at any time in the shop's chat: it can list your orders, tell you their status, cancel
pending and processing orders, and request refunds for shipped or delivered ones.

People from our team answer e-mail at support@shop.example.com on weekdays from 9:00 to 17:00. We never ask for
your full card number or your password.""",
    ),
]


async def seed_knowledge_corpus(session: AsyncSession, settings: Settings, admin_email: str, *, reset: bool) -> int:
    """Add the help centre's documents that are missing; returns how many were added."""
    admin = await session.scalar(select(User).where(User.email == admin_email))
    if admin is None:
        raise RuntimeError(f"the demo admin {admin_email} must be seeded before the knowledge corpus")
    ours = (KnowledgeDocument.user_id == admin.id, KnowledgeDocument.tags.contains([TAG]))
    if reset:
        await session.execute(delete(KnowledgeDocument).where(*ours))
    present = set(await session.scalars(select(KnowledgeDocument.title).where(*ours)))
    service = DocumentService(session)
    added = 0
    for title, slug, text in CORPUS:
        if title in present:
            continue
        body = DocumentCreate(
            title=title,
            text=text,
            format=DocumentFormat.MARKDOWN,
            source_url=HELP + slug,
            tags=[TAG],
            shared=True,
        )
        await service.create(
            principal_of(admin),
            body,
            max_bytes=settings.knowledge_max_document_bytes,
            embedding_model=settings.embedding_model,
        )
        added += 1
    return added
