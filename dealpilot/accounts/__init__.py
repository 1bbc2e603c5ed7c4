"""Console accounts: users, their passwords (argon2id), roles and brand grants, and login
throttling. Used by the console (api/console) and the `dealpilot users` commands."""

from dealpilot.accounts.members import Member, brand_members
from dealpilot.accounts.scope import BrandScope
from dealpilot.accounts.service import (
    MIN_PASSWORD_LENGTH,
    authenticate,
    brand_scope,
    change_password,
    create_user,
    first_admin,
    list_users,
    reset_password,
    session_user,
    update_user,
)
from dealpilot.accounts.throttle import LoginThrottle

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "BrandScope",
    "LoginThrottle",
    "Member",
    "authenticate",
    "brand_members",
    "brand_scope",
    "change_password",
    "create_user",
    "first_admin",
    "list_users",
    "reset_password",
    "session_user",
    "update_user",
]
