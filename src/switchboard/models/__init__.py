"""SQLAlchemy tables only. Importing this package registers every core table on `Base.metadata`."""

from switchboard.models.automation import Schedule, Trigger, TriggerEvent
from switchboard.models.base import Base
from switchboard.models.knowledge import KnowledgeChunk, KnowledgeDocument, KnowledgeEmbedding
from switchboard.models.notifications import Delivery, DeliveryAttempt, OutboxMessage, WebhookEndpoint
from switchboard.models.request_logs import RequestLog
from switchboard.models.runs import IdempotencyKey, Run, RunEvent, RunStep
from switchboard.models.threads import Thread, ThreadMessage
from switchboard.models.users import ApiKey, EndedBrowserSession, RateLimitBucket, User

__all__ = [
    "ApiKey",
    "Base",
    "Delivery",
    "DeliveryAttempt",
    "EndedBrowserSession",
    "IdempotencyKey",
    "KnowledgeChunk",
    "KnowledgeDocument",
    "KnowledgeEmbedding",
    "OutboxMessage",
    "RateLimitBucket",
    "RequestLog",
    "Run",
    "RunEvent",
    "RunStep",
    "Schedule",
    "Thread",
    "ThreadMessage",
    "Trigger",
    "TriggerEvent",
    "User",
    "WebhookEndpoint",
]
