"""RQ jobs: they take ids, reload rows, call operations, commit once, and are safe to run twice."""
