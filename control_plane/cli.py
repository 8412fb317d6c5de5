"""`codevoice`: the control plane's command line (database, users, serving)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from control_plane.settings import DatabaseSettings, SettingsError, get_settings


def db_upgrade(revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    db = DatabaseSettings()
    config = Config(str(db.migrations_dir.parent / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", db.url)
    command.upgrade(config, revision)


async def _create_user(email: str, display_name: str, role: str, password: str) -> str:
    from control_plane.db import models as m
    from control_plane.domain.accounts.services import UserService
    from control_plane.lib.db import get_alchemy_config

    async with get_alchemy_config().get_session() as session:
        user = await UserService(session=session).create_account(
            email=email, password=password, display_name=display_name, role=m.UserRole(role)
        )
        await session.commit()
    return str(user.id)


async def _set_active(email: str, active: bool) -> str:
    from control_plane.domain.accounts.activation import set_active
    from control_plane.lib.db import get_alchemy_config

    async with get_alchemy_config().get_session() as session:
        user = await set_active(session, email, active=active)
        await session.commit()
    return str(user.id)


def serve() -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "control_plane.app:create_app",
        factory=True,
        host=settings.app.host,
        port=settings.app.port,
        log_config=None,
        access_log=False,
        # Proxy headers only from the proxies named in CODEVOICE_TRUSTED_PROXIES (none by default):
        # otherwise anything on the host could choose its own address, and so its rate-limit identity.
        proxy_headers=bool(settings.app.trusted_proxies),
        forwarded_allow_ips=list(settings.app.trusted_proxies) or None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codevoice", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("revision", nargs="?", default="head")
    user = sub.add_parser("create-user", help="create an account of any role (recruiters and admins)")
    user.add_argument("--email", required=True)
    user.add_argument("--name", required=True)
    user.add_argument("--role", choices=["candidate", "recruiter", "admin"], default="recruiter")
    for command, help_text in [
        ("deactivate-user", "block an account: no sign-in, no API access, its refresh tokens revoked"),
        ("activate-user", "unblock an account (its user signs in again)"),
    ]:
        sub.add_parser(command, help=help_text).add_argument("--email", required=True)
    sub.add_parser("serve", help="run the HTTP API")
    args = parser.parse_args(argv)

    try:
        if args.command == "db":
            db_upgrade(args.revision)
        elif args.command == "create-user":
            password = getpass.getpass("Password (10+ characters): ")
            if len(password) < 10:
                print("Password must have at least 10 characters", file=sys.stderr)
                return 2
            print(asyncio.run(_create_user(args.email, args.name, args.role, password)))
        elif args.command in {"deactivate-user", "activate-user"}:
            from advanced_alchemy.exceptions import NotFoundError

            try:
                print(asyncio.run(_set_active(args.email, active=args.command == "activate-user")))
            except NotFoundError as exc:
                print(f"codevoice: {exc}", file=sys.stderr)
                return 1
        elif args.command == "serve":
            get_settings()  # fail fast on missing secrets, before binding a port
            serve()
    except SettingsError as exc:
        print(f"codevoice: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
