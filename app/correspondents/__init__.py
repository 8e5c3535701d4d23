"""Departmental correspondents: the difficulties agents report, answered by their directorate's
correspondents or raised to the national level (issue 19)."""
