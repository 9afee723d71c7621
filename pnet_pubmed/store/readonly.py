"""PostgreSQL: the role and the function that `pnet-pubmed sql` runs a user's statement under.

A read-only transaction is not enough on PostgreSQL: a superuser (or a holder of the server
file and program roles) may still run COPY ... TO PROGRAM, read server files, signal other
sessions and so on inside one. And after SET ROLE, a superuser session goes back with RESET ROLE
or set_config('role', ...) from inside a single SELECT.

So every schema the Store upgrades gets, on PostgreSQL:

* ROLE, a NOLOGIN role without attributes or memberships, shared by every schema of the cluster
  (roles are cluster-wide), allowed USAGE on the schema and SELECT on its tables and views, and
  nothing else;
* FUNCTION, owned by ROLE and SECURITY DEFINER, that runs the statement with EXECUTE and returns
  at most max_rows rows, each as its record text. Inside a security-definer function PostgreSQL
  refuses to change "role" or "session_authorization" (SET, RESET, set_config, DO blocks alike),
  so nothing in the statement can leave ROLE, whatever the session user may do.

Creating ROLE needs a superuser or CREATEROLE. When the role that upgrades cannot, the schema is
left without them and `sql` refuses to run on it; any later upgrade by a role that can, installs
them (Store.upgrade calls ensure() every time, which only reads when all is in place).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `sql` reads the names below without SQLAlchemy; the upgrade uses it
    import sqlalchemy as sa

ROLE = "pnet_pubmed_reader"
FUNCTION = "pnet_pubmed_sql"
SIGNATURE = f"{FUNCTION}(text,bigint)"

# max_rows NULL: the statement returns no columns (DDL, DML, SET...), run it for the verdict of
# the database (it refuses); 0: every row; n: stop after n rows, so no row past them is computed
# (FETCH takes one row at a time, where a FOR loop would prefetch).
BODY = """
DECLARE
    c refcursor;
    r record;
    n bigint := 0;
BEGIN
    IF max_rows IS NULL THEN
        EXECUTE statement;
        RETURN;
    END IF;
    OPEN c NO SCROLL FOR EXECUTE statement;
    LOOP
        FETCH c INTO r;
        EXIT WHEN NOT FOUND;
        RETURN NEXT r::text;
        n := n + 1;
        EXIT WHEN max_rows > 0 AND n >= max_rows;
    END LOOP;
    CLOSE c;
END
"""

# One row: is everything in place for the current schema, and may the current user use it?
# In the driver's own parameter style, so that `sql` runs it on the bare psycopg connection.
STATE_SQL = """
SELECT current_schema() AS schema,
       r.oid IS NOT NULL AS role_exists,
       COALESCE(NOT (r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
                     OR r.rolbypassrls)
                AND NOT EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid),
                false) AS role_is_plain,
       EXISTS (
           SELECT 1 FROM pg_proc p
           WHERE p.oid = to_regprocedure(quote_ident(current_schema()) || '.' || %(signature)s)
             AND p.prosecdef AND p.proowner = r.oid AND p.prosrc = %(body)s
             AND p.proconfig IS NULL
       ) AS function_ok,
       r.oid IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM pg_class c
           WHERE c.relnamespace = to_regnamespace(quote_ident(current_schema()))
             AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
             AND NOT has_table_privilege(r.oid, c.oid, 'SELECT')
       ) AS grants_ok,
       r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER') AS may_use
FROM (SELECT 1) AS one
LEFT JOIN pg_roles r ON r.rolname = %(role)s
"""


def state_params() -> dict:
    return {"role": ROLE, "signature": SIGNATURE, "body": BODY}


def is_ready(row: dict) -> bool:
    return bool(row["role_exists"] and row["role_is_plain"] and row["function_ok"]
                and row["grants_ok"])


def state(conn: sa.Connection) -> dict:
    """What is in place for the current schema (see STATE_SQL); only reads."""
    return dict(conn.exec_driver_sql(STATE_SQL, state_params()).mappings().one())


def ensure(conn: sa.Connection) -> bool:
    """Install the role and function when something is missing; True when all is in place."""
    if is_ready(state(conn)):
        return True
    return install(conn)


def install(conn: sa.Connection) -> bool:
    """Create or repair ROLE's rights and FUNCTION in the current schema, in a savepoint.

    Returns False, with nothing changed, when the current user may not (no CREATEROLE, or a
    role named ROLE exists with more than reading rights: it is never altered here).
    """
    from sqlalchemy.exc import DBAPIError

    with conn.begin_nested() as savepoint:
        try:
            _create_role(conn)
            if not state(conn)["role_is_plain"]:
                savepoint.rollback()
                return False
            _install(conn)
        except DBAPIError:
            savepoint.rollback()
            return False
    return is_ready(state(conn))


def _schema(conn: sa.Connection) -> str:
    return conn.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()


def _role_exists(conn: sa.Connection) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s",
                                {"r": ROLE}).first() is not None


def _create_role(conn: sa.Connection) -> None:
    from sqlalchemy.exc import DBAPIError

    if _role_exists(conn):
        return
    # Roles are cluster-wide: another database or schema may create it at the same moment.
    with conn.begin_nested() as inner:
        try:
            conn.exec_driver_sql(f"CREATE ROLE {ROLE} NOLOGIN")
        except DBAPIError as e:
            if getattr(e.orig, "sqlstate", None) not in ("42710", "23505"):
                raise
            inner.rollback()


def _install(conn: sa.Connection) -> None:
    schema = _schema(conn)
    superuser = _is_superuser(conn)
    if not superuser:
        # A CREATEROLE user must be a member to hand the function over to the role, and the
        # new owner needs CREATE on the schema for that moment only.
        conn.exec_driver_sql(f"GRANT {ROLE} TO current_user")
        conn.exec_driver_sql(f"GRANT CREATE ON SCHEMA {schema} TO {ROLE}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {ROLE}")
    conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {ROLE}")
    conn.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {ROLE}"
    )
    function = f"{schema}.{SIGNATURE}"
    conn.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {schema}.{FUNCTION}(statement text, max_rows bigint) "
        "RETURNS SETOF text LANGUAGE plpgsql VOLATILE SECURITY DEFINER "
        f"AS $pnet_pubmed_body${BODY}$pnet_pubmed_body$"
    )
    conn.exec_driver_sql(f"ALTER FUNCTION {function} RESET ALL")
    conn.exec_driver_sql(f"ALTER FUNCTION {function} OWNER TO {ROLE}")
    conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    if not superuser:
        conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {schema} FROM {ROLE}")


def _is_superuser(conn: sa.Connection) -> bool:
    return bool(conn.exec_driver_sql(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar_one())


def uninstall(conn: sa.Connection) -> None:
    """Drop FUNCTION and ROLE's rights in the current schema (the role may serve others)."""
    schema = _schema(conn)
    conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {schema}.{SIGNATURE}")
    if _role_exists(conn):
        conn.exec_driver_sql(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE SELECT ON TABLES FROM {ROLE}"
        )
        conn.exec_driver_sql(f"REVOKE SELECT ON ALL TABLES IN SCHEMA {schema} FROM {ROLE}")
        conn.exec_driver_sql(f"REVOKE USAGE ON SCHEMA {schema} FROM {ROLE}")
