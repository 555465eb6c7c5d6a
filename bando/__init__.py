"""bando: a workflow engine for public grant calls.

create_app wires the packages: core first, then each capability in the order they build
on one another (see the README's layout)."""

import os

from bando.core import make_app, register_api

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config=None, instance_path=None):
    from bando import (
        accounts,
        admin,
        allocation,
        applications,
        budget,
        calls,
        demo,
        evaluation,
        finance,
        payments,
        public,
        ranking,
        reports,
        transparency,
    )

    app = make_app(__name__, config, instance_path, os.path.join(ROOT, "templates"))
    packages = (
        accounts,
        calls,
        applications,
        evaluation,
        ranking,
        budget,
        allocation,
        transparency,
        reports,
        payments,
        finance,
        public,
        admin,
        demo,
    )
    for package in packages:
        package.init_app(app)
    register_api(app)
    return app
