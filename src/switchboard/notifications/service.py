"""Webhook endpoints (register, change, rotate the secret, remove) and the delivery log, for their owner:
another user's endpoint or delivery is not found."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.engine.channels import DELIVERIES_READY
from switchboard.kit.clock import utc_now
from switchboard.kit.egress import UrlRefused, check_url
from switchboard.kit.errors import Conflict, NotFound, ValidationFailed
from switchboard.kit.pagination import keyset_page
from switchboard.kit.secret_box import ROTATION_GRACE, new_signing_secret, secret_box
from switchboard.models import Delivery, DeliveryAttempt, OutboxMessage, Run, WebhookEndpoint
from switchboard.models.notifications import DeliveryStatus
from switchboard.notifications.schemas import (
    AttemptOut,
    DeliveryOut,
    WebhookCreate,
    WebhookUpdate,
    destination,
)
from switchboard.settings import Settings

RETRYABLE = (DeliveryStatus.FAILED, DeliveryStatus.DEAD)


class WebhookService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.box = secret_box(settings)

    # --- endpoints ---

    async def create(self, user: Principal, body: WebhookCreate) -> tuple[WebhookEndpoint, str]:
        """The new endpoint and its signing secret (returned this once; stored sealed)."""
        await self._check_url(body.url)
        secret = new_signing_secret()
        endpoint = WebhookEndpoint(
            user_id=user.user_id,
            url=body.url,
            event_types=list(body.event_types) if body.event_types else None,
            description=body.description,
            enabled=body.enabled,
            secret=self.box.seal(secret),
        )
        self.session.add(endpoint)
        await self.session.flush()
        await self.session.refresh(endpoint)
        return endpoint, secret

    async def get(self, user: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False) -> WebhookEndpoint:
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.user_id == user.user_id
        )
        endpoint = await self.session.scalar(query.with_for_update() if for_update else query)
        if endpoint is None:
            raise NotFound(f"Webhook endpoint {endpoint_id} not found.")
        return endpoint

    async def page(self, user: Principal, limit: int, cursor: str | None) -> tuple[list[WebhookEndpoint], str | None]:
        query = select(WebhookEndpoint).where(WebhookEndpoint.user_id == user.user_id)
        columns = [WebhookEndpoint.created_at, WebhookEndpoint.id]
        return await keyset_page(self.session, query, columns, limit=limit, cursor=cursor, descending=True)

    async def update(self, user: Principal, endpoint_id: uuid.UUID, body: WebhookUpdate) -> WebhookEndpoint:
        endpoint = await self.get(user, endpoint_id, for_update=True)
        given = body.model_fields_set
        if body.url is not None:
            await self._check_url(body.url)
            endpoint.url = body.url
        if "event_types" in given:
            endpoint.event_types = list(body.event_types) if body.event_types else None
        if "description" in given:
            endpoint.description = body.description
        if body.enabled is not None:
            endpoint.enabled = body.enabled
            if body.enabled:  # a fresh start: the failing clock and the server's reason go
                endpoint.disabled_reason = None
                endpoint.disabled_at = None
                endpoint.failing_since = None
        endpoint.updated_at = utc_now()
        await self.session.flush()
        return endpoint

    async def delete(self, user: Principal, endpoint_id: uuid.UUID) -> None:
        """Removes the endpoint with its deliveries (sent ones included)."""
        await self.session.delete(await self.get(user, endpoint_id, for_update=True))
        await self.session.flush()

    async def rotate(self, user: Principal, endpoint_id: uuid.UUID) -> tuple[WebhookEndpoint, str]:
        """A new secret; the current one keeps signing (beside it) for 24 hours, so receivers can switch."""
        endpoint = await self.get(user, endpoint_id, for_update=True)
        secret = new_signing_secret()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = utc_now() + ROTATION_GRACE
        endpoint.secret = self.box.seal(secret)
        endpoint.updated_at = utc_now()
        await self.session.flush()
        return endpoint, secret

    async def _check_url(self, url: str) -> None:
        try:
            await check_url(self.settings, url)
        except UrlRefused as refused:
            raise ValidationFailed(f"url: {refused}", details=[{"field": "url", "message": str(refused)}]) from None

    # --- deliveries ---

    async def deliveries_of_endpoint(
        self, user: Principal, endpoint_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[DeliveryOut], str | None]:
        await self.get(user, endpoint_id)
        return await self._page(select(Delivery).where(Delivery.endpoint_id == endpoint_id), limit, cursor)

    async def deliveries_of_run(
        self, user: Principal, run_id: uuid.UUID, limit: int, cursor: str | None
    ) -> tuple[list[DeliveryOut], str | None]:
        run = await self.session.scalar(select(Run.id).where(Run.id == run_id, Run.user_id == user.user_id))
        if run is None:
            raise NotFound(f"Run {run_id} not found.")
        messages = select(OutboxMessage.id).where(OutboxMessage.run_id == run_id)
        return await self._page(select(Delivery).where(Delivery.message_id.in_(messages)), limit, cursor)

    async def delivery(self, user: Principal, delivery_id: uuid.UUID, *, for_update: bool = False) -> Delivery:
        query = select(Delivery).where(Delivery.id == delivery_id, Delivery.user_id == user.user_id)
        delivery = await self.session.scalar(query.with_for_update() if for_update else query)
        if delivery is None:
            raise NotFound(f"Delivery {delivery_id} not found.")
        return delivery

    async def retry(self, user: Principal, delivery_id: uuid.UUID) -> Delivery:
        """One more attempt now, for a failed or dead delivery (a dead one that fails again stays dead)."""
        delivery = await self.delivery(user, delivery_id, for_update=True)
        if delivery.status not in RETRYABLE:
            raise Conflict(
                f"Delivery {delivery_id} is {delivery.status}: only failed and dead deliveries can be retried."
            )
        if delivery.lease_owner is not None and delivery.next_attempt_at and delivery.next_attempt_at > utc_now():
            # A dispatcher is sending it right now (its claim holds): its result is what comes next.
            raise Conflict(f"Delivery {delivery_id} is being attempted right now; look again in a moment.")
        if delivery.endpoint_id is not None:
            endpoint = await self.session.get(WebhookEndpoint, delivery.endpoint_id)
            if endpoint is not None and not endpoint.enabled:
                raise Conflict(
                    f'Webhook endpoint {endpoint.id} is disabled; enable it (PATCH {{"enabled": true}}) first.'
                )
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = utc_now()
        delivery.lease_owner = None
        delivery.updated_at = utc_now()
        await self.session.flush()
        await self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERIES_READY})
        return delivery

    async def outs(self, deliveries: Sequence[Delivery], *, with_attempts: bool = True) -> list[DeliveryOut]:
        """As the API shows them: with their event and, oldest first, their attempts (three queries in all)."""
        if not deliveries:
            return []
        messages = {
            m.id: m
            for m in await self.session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_({d.message_id for d in deliveries}))
            )
        }
        endpoint_ids = {d.endpoint_id for d in deliveries if d.endpoint_id is not None}
        urls: dict[uuid.UUID, str] = {}
        if endpoint_ids:
            known = select(WebhookEndpoint.id, WebhookEndpoint.url).where(WebhookEndpoint.id.in_(endpoint_ids))
            urls = {endpoint_id: url for endpoint_id, url in await self.session.execute(known)}
        attempts: dict[uuid.UUID, list[AttemptOut]] = {d.id: [] for d in deliveries}
        if with_attempts:
            query = (
                select(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id.in_(list(attempts)))
                .order_by(DeliveryAttempt.delivery_id, DeliveryAttempt.attempt, DeliveryAttempt.id)
            )
            for attempt in await self.session.scalars(query):
                attempts[attempt.delivery_id].append(AttemptOut.model_validate(attempt))
        return [
            DeliveryOut(
                id=d.id,
                event_id=f"msg_{d.message_id.hex}",
                event_type=messages[d.message_id].type,
                run_id=messages[d.message_id].run_id,
                channel=d.channel,
                endpoint_id=d.endpoint_id,
                destination=destination(d.channel, urls.get(d.endpoint_id) if d.endpoint_id else None, d.target),
                status=d.status,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at if d.status in (*RETRYABLE, DeliveryStatus.PENDING) else None,
                last_status_code=d.last_status_code,
                last_error=d.last_error,
                delivered_at=d.delivered_at,
                created_at=d.created_at,
                attempt_log=attempts[d.id],
            )
            for d in deliveries
        ]

    async def _page(
        self, query: Select[Delivery], limit: int, cursor: str | None
    ) -> tuple[list[DeliveryOut], str | None]:
        columns = [Delivery.created_at, Delivery.id]
        rows, next_cursor = await keyset_page(self.session, query, columns, limit=limit, cursor=cursor, descending=True)
        return await self.outs(rows), next_cursor
