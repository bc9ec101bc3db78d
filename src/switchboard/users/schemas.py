"""Request and response shapes of the user and API key routes. A key's secret appears only in `NewKeyOut`,
the answer to its creation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StringConstraints,
    computed_field,
    field_validator,
)

from switchboard.auth.scopes import Scope
from switchboard.kit.pagination import Page
from switchboard.kit.schemas import FromRow
from switchboard.limits.schemas import LimitOverrides
from switchboard.limits.tiers import TIER_NAME_MARK, TierNumbers

# The pattern says in the schema what stripping implies: something other than white space.
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")]


class UserOut(FromRow):
    id: int
    email: str = Field(description="Stored lower-case.")
    name: str
    role: str = Field(description="`member` or `admin`.")
    created_at: datetime
    tier: str = Field(description="The user's tier (SWITCHBOARD_TIERS): where their limits come from.")
    limits: LimitOverrides = Field(description="The user's own overrides of their tier's numbers.")
    effective_limits: TierNumbers | None = Field(
        default=None, description="The user's numbers: their tier's with their overrides applied (null: no limit)."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class KeyOut(FromRow):
    id: int
    user_id: int
    name: str
    prefix: str = Field(description="The key's first 12 characters: enough to recognise it, not to use it.")
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    scopes: list[Scope] | None = Field(
        description="What the key may do (runs:write, tools:call, admin); null: everything its user may."
    )
    daily_cost_usd: Decimal | None = Field(description="The key's own daily cost cap in USD; null: none.")
    current: bool = Field(default=False, description="The key this request was made with.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class NewKeyOut(KeyOut):
    key: str = Field(description="The key itself: shown this once, never again (only its digest is stored).")


class MeOut(UserOut):
    api_key: KeyOut = Field(description="The key this request was made with.")


class KeyCreate(BaseModel):
    name: Label = Field(default="default", description="A label, to tell your keys apart.")
    scopes: list[Scope] | None = Field(
        default=None,
        max_length=len(Scope),
        description="Narrow the key to these: `runs:write` (create runs, chat), `tools:call` (POST /v1/tools/{name}), "
        "`admin` (the admin routes, for an admin's key). Omitted or null: everything you may do. `[]`: "
        "none of these (no runs, chats, approvals, schedules, triggers or tool calls; it still reads your things and "
        "manages your keys, webhooks, threads and documents).",
    )
    # A JSON number, strictly (not Decimal, whose schema also admits strings; not `false` read as 0); stored as
    # NUMERIC(14, 6).
    daily_cost_usd: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="A daily cost cap in USD for runs made with this key, on top of your own; null: none.",
    )


class UserCreate(BaseModel):
    email: str = Field(
        min_length=3, max_length=320, pattern="@", description="Unique; stored lower-case. It must contain an @."
    )
    name: Label
    admin: StrictBool = Field(default=False, description="Make the user an admin (true or false, not 1).")
    key_name: Label = Field(default="default", description="The label of the user's first key.")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str | None = Field(
        default=None,
        max_length=32,
        description="One of the configured tiers (SWITCHBOARD_TIERS); omitted: unchanged.",
        json_schema_extra={TIER_NAME_MARK: True},  # the OpenAPI lists this server's tiers
    )
    limits: LimitOverrides | None = Field(
        default=None,
        description="Per-user overrides: a number sets one, null removes it (the tier's applies), an omitted one is "
        'left as it is. `"limits": null` removes them all.',
    )
    role: Literal["member", "admin"] | None = Field(
        default=None, description="`member` or `admin`; omitted: unchanged. An admin cannot change their own role."
    )

    @field_validator("tier", mode="before")
    @classmethod
    def _tier_is_a_name(cls, value: Any) -> Any:
        if value is None:  # given as null (an omitted tier is not validated): say which tier, or omit it
            raise ValueError("a tier's name, or omit the field to keep the tier")
        return value


class NewUserOut(BaseModel):
    user: UserOut
    key: NewKeyOut = Field(description="The user's first key, shown this once.")


class UserPage(Page[UserOut]):
    pass


class KeyPage(Page[KeyOut]):
    pass
