"""Property-based contract tests generated from /openapi.json (schemathesis): requests the description allows
are accepted, requests it forbids are refused with 4xx, every response matches the description, nothing
answers 5xx. Stateless per operation, then stateful along the description's links (create, then read, change,
delete the created user).

Deterministic (derandomized, no example database) and bounded, so the app tier stays fast and a failure replays
the same way. GET /delete/{user_id} (a tutorial route that deletes on GET) is left out of the stateful run:
see docs/api.md.
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app import create_app

EXAMPLES_PER_OPERATION = 25
STATEFUL_STEPS = 20
CONFIG = SchemathesisConfig.from_dict({
    "generation": {"mode": "all", "deterministic": True, "max-examples": EXAMPLES_PER_OPERATION,
                   "database": "none"},
})
# The description served by an app with the default settings (loading it touches no database); each test
# sends its requests to the `app` fixture, which has the same routes and a migrated throwaway database.
DESCRIBED = create_app({"MYSQL_HOST": "unused.invalid", "MYSQL_DATABASE": "unused", "MYSQL_USER": "unused",
                        "MYSQL_PASSWORD": "unused"})
schema = schemathesis.openapi.from_wsgi("/openapi.json", DESCRIBED, config=CONFIG)
BOUNDED = settings(deadline=None, derandomize=True, database=None, max_examples=EXAMPLES_PER_OPERATION,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                          HealthCheck.filter_too_much])


@schema.parametrize()
@BOUNDED
def test_every_operation_keeps_its_contract(case, app):
    case.call_and_validate(app=app)


StatefulWorkflow = schema.exclude(method="GET", path="/delete/{user_id}").as_state_machine()


def test_stateful_sequences_keep_the_contract(app, mariadb, migrated):
    """Create users, then read, replace, patch and delete them through the links of POST /users."""

    class Workflow(StatefulWorkflow):  # type: ignore[valid-type, misc]
        def get_call_kwargs(self, case):
            return {"app": app}

        def teardown(self):
            # Each sequence starts from no users: hypothesis replays a sequence and needs the same answers (a
            # 201 the first time and a 409 for the same email the next would make the replay draw differently).
            with mariadb.admin_connection(database=migrated["MYSQL_DATABASE"]) as con, con.cursor() as cur:
                cur.execute("DELETE FROM users")

    Workflow.run(settings=settings(BOUNDED, max_examples=STATEFUL_STEPS, stateful_step_count=6))
