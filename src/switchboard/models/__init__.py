"""SQLAlchemy tables only. Importing this package registers every core table on `Base.metadata`."""

from switchboard.models.base import Base
from switchboard.models.request_logs import RequestLog
from switchboard.models.threads import Thread, ThreadMessage
from switchboard.models.users import ApiKey, User

__all__ = ["ApiKey", "Base", "RequestLog", "Thread", "ThreadMessage", "User"]
