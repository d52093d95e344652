"""`gridbot reports list`: the stored comparisons (``gridbot compare``, its watch, Dagster).

With ``--user`` the listing is read in that user's unit of work, so row-level security
shows that user's comparisons only; without it the operator sees every user's (the admin
context), each with its owner. ``--run`` narrows to one run (an unknown run, or one of
another user than ``--user``, is refused in one line).
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Stored comparison reports.", no_args_is_help=True)

#: Characters of a listing's line: a run id and a report's path are never wrapped.
LIST_WIDTH = 260


@app.command("list")
def list_reports(
    user: str | None = typer.Option(None, "--user", help="Only this user's comparisons."),
    run: str | None = typer.Option(None, "--run", help="Only the comparisons of this run."),
    limit: int = typer.Option(200, "--limit", min=1, max=10_000,
                              help="At most this many, newest first."),
) -> None:
    """List stored comparisons, newest first: run, window, verdicts (C: CONSERVATIVE, O:
    OPTIMISTIC, P: PESSIMISTIC, Q: QUEUE), report directory."""
    from daemons.cli.support import cli_errors, fail, open_database, parse_run_id, print_table
    from daemons.db import comparisons, users
    from daemons.validation.check import owner_of_run, user_id_of

    try:
        run_id = None if run is None else parse_run_id(run)
    except ValueError as e:
        fail(str(e))
    with cli_errors():
        db = open_database()
        user_id = None if user is None else user_id_of(db, user)
        if run_id is not None:
            owner_of_run(db, run_id, user_id)  # unknown, or not this user's: refused
        if user_id is not None:
            with db.unit_of_work(user_id) as conn:
                rows = comparisons.list_comparisons(conn, run_id=run_id, limit=limit)
            names = {user_id: user}
        else:
            with db.admin() as conn:
                rows = comparisons.list_comparisons(conn, run_id=run_id, limit=limit)
                names = {u.user_id: u.username for u in users.list_users(conn)}
    print_table("comparisons", ("created (UTC)", "user", "run", "symbol", "window (UTC)",
                                "verdicts", "origin", "report"), [
        (f"{r.created_at:%Y-%m-%d %H:%M:%S}", names.get(r.user_id, str(r.user_id)),
         str(r.run_id), r.symbol, f"{r.window_start:%Y-%m-%d %H:%M:%S} to "
         f"{r.window_end:%H:%M:%S}", " ".join(
             f"{model[0]}:{'pass' if ok else 'FAIL'}" for model, ok in sorted(r.verdicts.items())),
         r.origin, r.report_dir or "-") for r in rows], width=LIST_WIDTH)
