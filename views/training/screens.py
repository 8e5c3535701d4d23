"""The training space's screens: enter and leave the mode, the exercises, the progress, and
the administrators' reset. Thin: parse, ask ``app.training.access``, call the domain, commit."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.platform.params import int_or_none
from app.training import access, exercises, operations, overview, seed, store
from models import db, utcnow

MODE_KEY = "training_mode"  # the agent's cookie: this browser is in the training mode
ANSWER_MAX = 20


def _status(progress: operations.Progress | None, generation: str | None) -> str:
    if progress is None:
        return "todo"
    if progress.completed_at is not None:
        return "done"
    if progress.generation == generation and progress.subject_id is not None:
        return "started"
    return "todo"


class TrainingView(BaseView):
    route_base = "/agent/formation"
    class_permission_name = "Training"
    base_permissions = ["can_access"]
    default_view = "index"

    def _gate(self) -> None:
        """FAB's permission of the view, then the domain's rule; otherwise the page does not
        exist (404), as for the other agent screens."""
        if not self.appbuilder.sm.has_access("can_access", self.class_permission_name):
            abort(404)

    @expose("/")
    def index(self) -> str:
        self._gate()
        in_training = store.active()
        may_train = access.may_train(current_user)
        generation = store.generation() if in_training else None
        progress = operations.progress_of(current_user.id) if may_train else {}
        rows = [
            {
                "exercise": exercise,
                "status": _status(progress.get(exercise.code), generation),
                "progress": progress.get(exercise.code),
            }
            for exercise in exercises.EXERCISES
        ]
        done = sum(1 for item in progress.values() if item.completed_at is not None)
        return self.render_template(
            "training/index.html",
            in_training=in_training,
            may_train=may_train,
            may_reset=access.may_reset(current_user) and not in_training,
            may_follow=access.may_follow_progress(current_user),
            rows=rows,
            done=done,
            total=len(rows),
        )

    @expose("/suivi")
    def progress(self) -> str:
        """The trainees' progress (administrators), filtered by office, 50 agents a page."""
        self._gate()
        if not access.may_follow_progress(current_user):
            abort(404)
        choices = overview.offices()
        office_id = int_or_none(request.args.get("service"))
        if office_id not in {choice.id for choice in choices}:
            office_id = None
        result = overview.overview(
            office_id=office_id, page=int_or_none(request.args.get("page")) or 1
        )
        return self.render_template(
            "training/progress.html",
            offices=choices,
            office_id=office_id,
            office=next((choice for choice in choices if choice.id == office_id), None),
            result=result,
            total=len(exercises.EXERCISES),
        )

    @expose("/entrer", methods=["POST"])
    def enter(self) -> Response:
        self._gate()
        if not access.may_train(current_user):
            abort(404)
        trainee = operations.Trainee.of(current_user)
        seed.ensure_built()
        with store.store_session():
            operations.enrol(trainee)
            db.session.commit()
        session[MODE_KEY] = True
        flash(
            _(
                "Vous êtes en mode formation : tout ce que vous "
                "faites porte sur des données fictives."
            ),
            "success",
        )
        return redirect(url_for("TrainingView.index"))

    @expose("/quitter", methods=["POST"])
    def leave(self) -> Response:
        self._gate()
        session.pop(MODE_KEY, None)
        flash(
            _(
                "Vous avez quitté le mode formation : vous travaillez "
                "de nouveau sur les données réelles."
            ),
            "info",
        )
        return redirect(url_for("TrainingView.index"))

    @expose("/reinitialiser", methods=["POST"])
    def reset(self) -> Response:
        self._gate()
        if not access.may_reset(current_user):
            abort(404)
        seed.reset()
        flash(
            _("L'espace de formation a été réinitialisé : données fictives rechargées."), "success"
        )
        return redirect(url_for("TrainingView.index"))

    def _exercise(self, code: str) -> exercises.Exercise:
        self._gate()
        exercise = exercises.BY_CODE.get(code)
        if exercise is None or not access.may_train(current_user):
            abort(404)
        return exercise

    def _outside(self) -> Response | None:
        if store.active():
            return None
        flash(_("Entrez d'abord en formation pour faire les exercices."), "info")
        return redirect(url_for("TrainingView.index"))

    @expose("/exercices/<code>")
    def exercise(self, code: str) -> Any:
        exercise = self._exercise(code)
        outside = self._outside()
        if outside is not None:
            return outside
        progress = operations.progress_of(current_user.id).get(exercise.code)
        status = _status(progress, store.generation())
        subject_id = progress.subject_id if progress and status != "todo" else None
        if progress and progress.completed_at and progress.generation != store.generation():
            subject_id = None
        return self.render_template(
            "training/exercise.html",
            exercise=exercise,
            progress=progress,
            status=status,
            case=exercises.subject_case(subject_id) if exercise.subject == "case" else None,
            taxpayer=exercises.subject_taxpayer(subject_id)
            if exercise.subject == "taxpayer"
            else None,
            started=subject_id is not None,
            answer_max=ANSWER_MAX,
        )

    @expose("/exercices/<code>/commencer", methods=["POST"])
    def start(self, code: str) -> Response:
        exercise = self._exercise(code)
        outside = self._outside()
        if outside is not None:
            return outside
        started_at = utcnow()
        subject_id = exercises.start(exercise)
        generation = store.generation()
        db.session.commit()
        operations.record_start(
            agent_id=current_user.id,
            exercise=exercise.code,
            generation=generation,
            subject_id=subject_id,
            started_at=started_at,
        )
        flash(_("Exercice commencé : suivez les étapes, puis vérifiez votre travail."), "info")
        return redirect(url_for("TrainingView.exercise", code=exercise.code))

    @expose("/exercices/<code>/verifier", methods=["POST"])
    def check(self, code: str) -> Response:
        exercise = self._exercise(code)
        outside = self._outside()
        if outside is not None:
            return outside
        progress = operations.progress_of(current_user.id).get(exercise.code)
        if (
            progress is None
            or progress.subject_id is None
            or progress.started_at is None
            or progress.generation != store.generation()
        ):
            flash(_("Commencez d'abord l'exercice."), "warning")
            return redirect(url_for("TrainingView.exercise", code=exercise.code))
        answer = (request.form.get("answer") or "")[:ANSWER_MAX]
        result = exercises.check(
            exercise,
            agent=current_user,
            subject_id=progress.subject_id,
            started_at=progress.started_at,
            answer=answer,
        )
        db.session.rollback()  # a check only reads the training store
        operations.record_check(
            agent_id=current_user.id, exercise=exercise.code, passed=result.passed
        )
        category = "success" if result.passed else "warning"
        if result.passed:
            flash(_("Exercice réussi."), "success")
        for message in result.messages:
            flash(message, category)
        return redirect(url_for("TrainingView.exercise", code=exercise.code))
