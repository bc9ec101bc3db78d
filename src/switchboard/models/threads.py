from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, ForeignKey, Identity, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base, CreatedAt


class Thread(CreatedAt, Base):
    """A conversation with one agent, owned by one user."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("user_id", "external_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    agent: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    # A caller-chosen name that finds the same thread again (the seed 000 route keeps one per user).
    external_key: Mapped[str | None] = mapped_column(String(200), default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict, server_default="{}")
    turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The application's context (what the user is looking at), as its client last set it: shown to the agent as
    # fenced data on each turn. SQL NULL when none (`none_as_null`: never a JSON null).
    context: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True), default=None)
    # A child run's thread (each child run has its own): the run it works for. Left out of thread listings.
    parent_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE", use_alter=True), default=None
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ThreadMessage(CreatedAt, Base):
    """One Pydantic AI message (a model request or response) of a thread, in order."""

    __tablename__ = "thread_messages"
    __table_args__ = (UniqueConstraint("thread_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    turn: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "request" | "response"
    message: Mapped[dict[str, Any]] = mapped_column(JSONB)  # Pydantic AI message JSON
    text: Mapped[str | None] = mapped_column(Text, default=None)  # the user's prompt or the reply text
    model_name: Mapped[str | None] = mapped_column(String(200), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    # The run that wrote the message (every message since runs exist).
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), default=None, index=True
    )
    # Set when an admin acted for the thread's owner.
    acting_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    @property
    def role(self) -> Literal["user", "assistant", "tool"]:
        """Who speaks: a response is the assistant's; a request carrying a user prompt is the user's, any other
        request returns tool results."""
        if self.kind == "response":
            return "assistant"
        return "user" if any(p.get("part_kind") == "user-prompt" for p in self.message.get("parts", [])) else "tool"
