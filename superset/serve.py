"""Prepare Superset's metadata database, import the dashboards of bundle/, and serve.

Run by `journey superset` with the Python of Superset's own environment, never by the
pipeline: `python serve.py --bundle DIR --database-uri duckdb:///... --bind 127.0.0.1:8088`.
One process does what `superset db upgrade`, `superset fab create-admin`, `superset init`,
`superset import-dashboards` and gunicorn would do, so that Superset's application is
created once (each `superset` command creates it again, seconds each). Two differences:
the import overwrites every database, dataset, chart and dashboard of the bundle
(`import-dashboards` keeps the connection and the charts it already has), so an edited
bundle or a moved warehouse takes effect on the next start; and gunicorn serves the
application created here (its worker is forked from this process, like `--preload`).
Prints one line per step, starting with `step: `.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

import yaml

BUNDLE_DATABASE = "databases/journey.yaml"
# Marks this script's own lines on stdout (Superset's migrations print there too).
STEP_PREFIX = "step: "


def bundle_contents(bundle: Path, database_uri: str) -> dict[str, str]:
    """The bundle's files as Superset's importers take them (path -> YAML), with the
    database connection pointing at `database_uri`."""
    contents = {
        path.relative_to(bundle).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(bundle.rglob("*.yaml"))
    }
    database = yaml.safe_load(contents[BUNDLE_DATABASE])
    database["sqlalchemy_uri"] = database_uri
    contents[BUNDLE_DATABASE] = yaml.safe_dump(database, sort_keys=False)
    # Exported as a dashboard bundle (what `superset import-dashboards` takes); imported
    # here as assets, which overwrites every object in it.
    metadata = yaml.safe_load(contents["metadata.yaml"])
    metadata["type"] = "assets"
    contents["metadata.yaml"] = yaml.safe_dump(metadata, sort_keys=False)
    return contents


def metadata_database() -> Path:
    """The metadata database, where superset_config.py puts it."""
    return Path(os.environ["SUPERSET_HOME"]) / "superset.db"


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, renamed into place."""
    staged = target.with_name(f".{target.name}.{os.getpid()}")
    with sqlite3.connect(source) as origin, sqlite3.connect(staged) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()
    staged.replace(target)


def prepare(app, args: argparse.Namespace, from_template: bool, done) -> None:
    """Migrate, sync roles, create the admin user if missing, import the bundle.

    A new warehouse starts from `--template`: a metadata database migrated, with roles
    and the admin user, and nothing of any warehouse, made by the first start in this
    environment (a minute of migrations and permissions saved on every later one)."""
    from flask import g
    from flask_migrate import upgrade
    from superset.commands.importers.v1.assets import ImportAssetsCommand

    from superset import appbuilder, db, security_manager

    metadata = metadata_database()
    with app.app_context():
        upgrade()
        done("metadata database migrated")
        if not from_template:
            appbuilder.add_permissions(update_perms=True)
            security_manager.sync_role_definitions()
            done("roles and permissions synced")
        admin = security_manager.find_user(username=args.admin_user)
        if admin is None:
            admin = security_manager.add_user(
                args.admin_user,
                "Admin",
                "User",
                f"{args.admin_user}@localhost",
                security_manager.find_role("Admin"),
                password=args.admin_password,
            )
            if not admin:
                raise SystemExit(f"could not create the user {args.admin_user}")
            done(f"user {args.admin_user} created")
            if args.template and not args.template.exists():
                db.session.commit()
                copy_database(metadata, args.template)
        g.user = admin
        ImportAssetsCommand(bundle_contents(args.bundle, args.database_uri)).run()
        done("dashboards imported")
        db.session.remove()
        db.engine.dispose()  # no connection crosses into the forked worker


def serve(app, bind: str) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": bind,
                "workers": 1,
                "worker_class": "gthread",
                "threads": 8,
                "timeout": 120,
                "accesslog": "-",
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    Server().run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, type=Path)
    parser.add_argument("--database-uri", required=True)
    parser.add_argument("--admin-user", default="admin")
    parser.add_argument("--admin-password", default="admin")
    parser.add_argument("--bind", help="HOST:PORT to serve on; without it, prepare only")
    parser.add_argument(
        "--template", type=Path, help="metadata database to start a new warehouse from"
    )
    args = parser.parse_args()
    started = time.monotonic()

    def done(step: str) -> None:
        print(f"{STEP_PREFIX}{step} ({time.monotonic() - started:.0f}s)", flush=True)

    # Before the application exists: creating it opens (so creates) the database file.
    from_template = bool(
        args.template and args.template.exists() and not metadata_database().exists()
    )
    if from_template:
        copy_database(args.template, metadata_database())
        done("metadata database copied from the template")

    from superset.app import create_app

    app = create_app()
    done("Superset loaded")
    prepare(app, args, from_template, done)
    if args.bind:
        serve(app, args.bind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
