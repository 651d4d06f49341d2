"""Accounts shared by the portal and the back office: users, passwords
(argon2id), server-side sessions, one-time e-mail links and rate limits.

Pure data and SQL here; the pages that use them live in registry/web/.
"""

from registry.accounts.service import (
    AccountError,
    RateLimited,
    SessionUser,
    authenticate,
    change_password,
    confirm_email,
    create_email_token,
    create_session,
    end_session,
    end_sessions_of,
    hit_rate_limit,
    register,
    request_password_reset,
    reset_password,
    session_user,
    use_email_token,
)
from registry.accounts.passwords import hash_password, verify_password

__all__ = [
    "AccountError", "RateLimited", "SessionUser", "authenticate", "change_password", "confirm_email",
    "create_email_token", "create_session", "end_session", "end_sessions_of", "hash_password",
    "hit_rate_limit", "register", "request_password_reset", "reset_password", "session_user",
    "use_email_token", "verify_password",
]  # fmt: skip
