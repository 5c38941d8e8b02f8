"""Staff accounts and their editorial roles: one rule that the `add_staff` command (and
anything else that makes staff) follows."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import transaction

from tracker.editorial import ROLES


class UnknownRole(ValueError):
    pass


@transaction.atomic
def grant_roles(username: str, roles: Iterable[str], *, email: str = "",
                password: str | None = None) -> tuple[User, bool]:
    """The account `username` with `roles` added and staff status (the admin and the
    staff pages need it), created when missing. Returns (user, created).

    Without a password a new account gets an unusable one: it cannot log in until
    someone sets one (`manage.py changepassword`), rather than with a guessable default.
    """
    wanted = list(dict.fromkeys(roles))
    unknown = [r for r in wanted if r not in ROLES]
    if unknown or not wanted:
        problem = f"unknown role {', '.join(map(repr, unknown))}" if unknown else "no role"
        raise UnknownRole(f"{problem}; choose from {', '.join(ROLES)}")
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
    elif password:
        user.set_password(password)
    if email:
        user.email = email
    user.is_staff = True
    user.save()
    user.groups.add(*(Group.objects.get_or_create(name=r)[0] for r in wanted))
    return user, created
